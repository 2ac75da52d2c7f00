"""MkDocs hooks: pages generated from the code and data at build time.

- ``reference/cli.md`` from the argparse parser (``onnxhub.cli.reference``);
- ``conformance/index.md`` from the committed JSON reports in ``docs/conformance/``.
"""

from pathlib import Path

from mkdocs.structure.files import File


def on_pre_build(config):
    from onnxhub.conformance.scoreboard import main as scoreboard

    folder = Path(config["docs_dir"]) / "conformance"
    scoreboard([str(folder)])  # rewrites index.md from the JSON reports


def on_files(files, config):
    from onnxhub.cli.reference import markdown

    files.append(File.generated(config, "reference/cli.md", content=markdown()))
    files.append(File.generated(config, "reference/mxnet-ops.md", content=mxnet_ops()))
    files.append(File.generated(config, "reference/cntk-ops.md", content=cntk_ops()))
    files.append(File.generated(config, "reference/caffe2-ops.md", content=caffe2_ops()))
    return files


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
