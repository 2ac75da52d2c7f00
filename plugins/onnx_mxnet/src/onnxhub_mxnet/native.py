"""MXNet's own files run by real MXNet 1.9.1: ``run_files`` of the exporter and the importer.

``onnxhub convert --verify`` runs the user's ``NAME-symbol.json`` + ``NAME-EPOCH.params``
(exporter side) and the files the importer wrote (importer side) through this: one worker
process in the ``mxnet`` runtime per hub process, serving ``runtime_side/files.py``.
Also the exporter's ``group_files``: which files of a folder make one model.
"""

from __future__ import annotations

import re
from pathlib import Path

HANDLER = "onnxhub_mxnet.runtime_side.files"
_PARAMS = re.compile(r"^(?P<prefix>.+)-(?P<epoch>\d+)\.params$")


def worker():
    """The ``run_files`` worker in the installed ``mxnet`` runtime (``RuntimeNotInstalled`` when it is not)."""
    from onnxhub.runtime.dedicated import dedicated_worker

    return dedicated_worker("mxnet", HANDLER)


def run_files(files, inputs: dict, timeout: float = 600.0) -> list:
    """Load ``NAME-symbol.json`` (+ ``NAME-EPOCH.params``) with MXNet, run once on ``inputs``, return the outputs."""
    from .export.exporter import pick_files

    symbol, params = pick_files(files)
    result, arrays = worker().call("run_files", {"symbol": str(Path(symbol).resolve()),
                                                 "params": str(Path(params).resolve()) if params else None},
                                   dict(inputs), timeout=timeout)
    return [arrays[f"out{i}"] for i in range(len(arrays))]


def group_files(paths) -> list[list[str]]:
    """One model per ``NAME-symbol.json``, with the latest ``NAME-EPOCH.params`` beside it (if any)."""
    models, params = {}, {}
    for p in map(str, paths):
        path = Path(p)
        if path.name.endswith("-symbol.json"):
            models[(str(path.parent), path.name[: -len("-symbol.json")])] = p
        else:
            m = _PARAMS.match(path.name)
            if m:
                key = (str(path.parent), m["prefix"])
                if key not in params or int(m["epoch"]) > params[key][0]:
                    params[key] = (int(m["epoch"]), p)
    groups = []
    for key, symbol in sorted(models.items()):
        groups.append([symbol] + ([params[key][1]] if key in params else []))
    return groups


__all__ = ["group_files", "run_files", "worker"]
