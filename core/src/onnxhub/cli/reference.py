"""The command-line reference page, generated from the argparse parser itself.

The docs build calls ``markdown()`` (see ``docs/hooks.py``), so the reference can
never drift from ``--help``.
"""

from __future__ import annotations

import argparse
import os


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps subcommands here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def verbs(parser=None) -> list[str]:
    from .main import build_parser

    parser = parser or build_parser()
    names = []
    for name, sub in _subparsers(parser):
        names.append(name)
        names += [f"{name} {child}" for child, _ in _subparsers(sub)]
    return names


def markdown() -> str:
    from .main import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # stable wrapping, whatever the terminal
    try:
        parser = build_parser()
        out = ["# Command reference", "",
               "Generated from `onnxhub`'s argument parser at docs build time: the same text as `--help`.", "",
               "```text", parser.format_help().rstrip(), "```"]

        def section(title, sub, level):
            out.extend(["", f"{'#' * level} `onnxhub {title}`", "", "```text", sub.format_help().rstrip(), "```"])
            for child, grand in _subparsers(sub):
                section(f"{title} {child}", grand, level + 1)

        for name, sub in _subparsers(parser):
            section(name, sub, 2)
        return "\n".join(out) + "\n"
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
