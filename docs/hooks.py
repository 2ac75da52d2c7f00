"""MkDocs hooks: pages generated from the code and data at build time.

- ``reference/cli.md`` from the argparse parser (``onnxhub.cli.reference``);
- ``conformance/index.md`` from the committed JSON reports in ``docs/conformance/``;
- the conversion matrix of ``switching.md`` from the committed reports in ``docs/conversion/``;
- the body of ``hooks.md`` (the hook reference) from ``onnxhub.hookspecs`` and
  ``onnxhub.specs``: ``hook_reference()``, importable without mkdocs (the core tests use it).
"""

import dataclasses
import inspect
import re
from pathlib import Path

HOOKS_MARKER = "<!-- hook reference -->"


def on_pre_build(config):
    from onnxhub.conformance.scoreboard import main as scoreboard

    folder = Path(config["docs_dir"]) / "conformance"
    scoreboard([str(folder)])  # rewrites index.md from the JSON reports


def on_files(files, config):
    from mkdocs.structure.files import File

    from onnxhub.cli.reference import markdown

    files.append(File.generated(config, "reference/cli.md", content=markdown()))
    files.append(File.generated(config, "reference/mxnet-ops.md", content=mxnet_ops()))
    files.append(File.generated(config, "reference/cntk-ops.md", content=cntk_ops()))
    files.append(File.generated(config, "reference/caffe2-ops.md", content=caffe2_ops()))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "hooks.md":
        return expand_hooks_page(markdown)
    if page.file.src_uri == "switching.md":
        return expand_switching_page(markdown, Path(config["docs_dir"]) / "conversion")
    return markdown


def expand_switching_page(markdown: str, reports) -> str:
    """``switching.md`` with its marker replaced by the matrix of the committed reports in ``reports``."""
    from onnxhub.inventory import MATRIX_MARKER, matrix_markdown

    if MATRIX_MARKER not in markdown:
        raise ValueError(f"switching.md lacks the marker {MATRIX_MARKER!r}")
    return markdown.replace(MATRIX_MARKER, matrix_markdown(reports))


def expand_hooks_page(markdown: str) -> str:
    """``hooks.md`` with its marker replaced by ``hook_reference()``."""
    if HOOKS_MARKER not in markdown:
        raise ValueError(f"hooks.md lacks the marker {HOOKS_MARKER!r}")
    return markdown.replace(HOOKS_MARKER, hook_reference())


SPECS = ("BackendSpec", "ImporterSpec", "ExporterSpec", "RuntimeSpec")

# Fields no spec docstring describes; every other meaning is read from the docstrings.
COMMON_MEANINGS = {
    "name": "The name users type (`--backend NAME`, `--from NAME`, `onnxhub runtime install NAME`), "
            "unique across all plugins: lower-case letters, digits, `_`, `-` or `.`.",
    "summary": "One line shown by the listings (`onnxhub list-backends` ...).",
}


def hook_names() -> list[str]:
    import onnxhub.hookspecs as hookspecs

    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("register_") and fn.__module__ == hookspecs.__name__]


def _hook_order(name: str) -> int:
    import onnxhub.hookspecs as hookspecs

    return inspect.getsourcelines(getattr(hookspecs, name))[1]


def _sentences(doc: str) -> list[str]:
    """A docstring's bullets and sentences, each on one line."""
    parts = []
    for block in re.split(r"\n\s*\n", doc):
        items = re.split(r"\n\s*- ", "\n" + block) if block.lstrip().startswith("- ") else [block]
        for item in items:
            text = " ".join(item.split())
            if text:
                parts += re.split(r"(?<=[a-z)`\]])\. (?=[`A-Z])", text)
    return [s if s.endswith((".", ":")) else s + "." for s in parts]


def field_meaning(cls, name: str) -> str:
    """What field ``name`` of spec ``cls`` means: the sentences of its docstring naming it,
    else those of another spec's docstring, else ``COMMON_MEANINGS``."""
    import onnxhub.specs as specs

    for owner in [cls] + [getattr(specs, s) for s in SPECS if getattr(specs, s) is not cls]:
        found = [s for s in _sentences(inspect.getdoc(owner) or "") if f"``{name}``" in s]
        if found:
            text = " ".join(found)
            text = re.sub(rf"^``{re.escape(name)}``:\s*", "", text)
            return text[:1].upper() + text[1:]
    return COMMON_MEANINGS.get(name, "")


def _default(f) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{f.default!r}`"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f"`{f.default_factory()!r}`"
    return "required"


def _cell(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|")


def spec_table(cls) -> str:
    """The field table of a spec dataclass: name, type, default, meaning."""
    lines = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        type_ = f.type if isinstance(f.type, str) else inspect.formatannotation(f.type)
        lines.append(f"| `{f.name}` | `{_cell(type_)}` | {_cell(_default(f))} | {_cell(field_meaning(cls, f.name))} |")
    return "\n".join(lines)


def hook_reference() -> str:
    """The hook reference: the rules for every hook, one section per hook (its contract
    rendered by mkdocstrings) and one per spec class (its docstring and field table)."""
    import onnxhub.hookspecs as hookspecs
    import onnxhub.specs as specs

    hook_options = ("    options:\n      show_root_heading: false\n      show_root_toc_entry: false\n"
                    "      docstring_section_style: list\n")
    out = ["## Rules for every hook", "", "::: onnxhub.hookspecs", "    options:",
           "      show_root_heading: false", "      show_root_toc_entry: false", "      members: false", ""]
    for name in sorted(hook_names(), key=_hook_order):
        sig = inspect.signature(getattr(hookspecs, name))
        out += [f"## {name}", "", "```python", "from onnxhub import hookimpl", "", "@hookimpl",
                f"def {name}{sig}: ...", "```", "", f"::: onnxhub.hookspecs.{name}", hook_options]
    for name in SPECS:
        cls = getattr(specs, name)
        sig = ", ".join(f.name if _default(f) == "required" else f"{f.name}={_default(f).strip('`')}"
                        for f in dataclasses.fields(cls))
        out += [f"## {name}", "", "```python", f"from onnxhub import {name}", "", f"{name}({sig})", "```", "",
                inspect.getdoc(cls), "", spec_table(cls), ""]
    return "\n".join(out)


def mxnet_ops() -> str:
    """The MXNet exporter's operator table, read from its ``OpTable``: one row per op function and opset range."""
    from onnxhub_mxnet.export.exporter import EXPORTER, TABLE

    low, high = EXPORTER.min_opset, EXPORTER.max_opset
    rows = {}
    for entry in TABLE.entries():
        since, until = max(entry.since, low), min(high if entry.until is None else entry.until, high)
        if since > until:
            continue  # a form for opsets the exporter does not write
        fn = entry.fn
        key = (fn.__module__.rsplit(".", 1)[-1], fn.__name__, f"{since}-{until}" if since != until else str(since))
        rows.setdefault(key, []).append(entry.op)
    ops = TABLE.ops()
    lines = ["# MXNet operators", "", f"Generated from the exporter's operator table: {len(ops)} MXNet op names, "
             f"written at ONNX opsets {low}-{high}. The exporter checks every op of a symbol before converting: "
             "ops outside the table are one `UnsupportedOperator` error naming each op and a node that uses it.",
             "", "| family | op function | MXNet ops | opsets |", "|---|---|---|---|"]
    for (family, fn, opsets), names in sorted(rows.items()):
        names = sorted(names, key=str.lower)
        lines.append(f"| {family} | `{fn}` | {', '.join(f'`{o}`' for o in names)} | {opsets} |")
    return "\n".join(lines) + "\n"


def cntk_ops() -> str:
    """The CNTK exporter's operator table, read from its OpTable."""
    from onnxhub_cntk.export.optable_doc import markdown

    return markdown()


def caffe2_ops() -> str:
    """The Caffe2 exporter's operator table, read from its OpTable."""
    from onnxhub_caffe2.export.optable_doc import markdown

    return markdown()
