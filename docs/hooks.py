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
    return files


def mxnet_ops() -> str:
    """The MXNet exporter's operator table, read from the converter registry."""
    from onnxhub_mxnet.export.convert import CONVERTERS
    from onnxhub_mxnet.export.exporter import MAX_OPSET, MIN_OPSET

    by_function = {}
    for op, fn in sorted(CONVERTERS.items(), key=lambda kv: kv[0].lower()):
        by_function.setdefault((fn.__module__.rsplit(".", 1)[-1], fn.__name__), []).append(op)
    lines = ["# MXNet operators", "", f"Generated from the exporter's converter table: {len(CONVERTERS)} MXNet op "
             f"names, written at ONNX opsets {MIN_OPSET}-{MAX_OPSET}. Any other op is an `UnsupportedOperator` "
             "error naming the op and the node.", "", "| family | converter | MXNet ops |", "|---|---|---|"]
    for (module, fn), ops in sorted(by_function.items()):
        lines.append(f"| {module} | `{fn}` | {', '.join(f'`{o}`' for o in ops)} |")
    return "\n".join(lines) + "\n"
