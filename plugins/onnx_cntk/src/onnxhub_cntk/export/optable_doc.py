"""The CNTK exporter's operator table as Markdown, generated from its ``OpTable``.

``python -m onnxhub_cntk.export.optable_doc`` prints it; the docs build can call ``markdown()``.
"""

from __future__ import annotations


def markdown() -> str:
    from .exporter import EXPORTER, TABLE

    low, high = EXPORTER.min_opset, EXPORTER.max_opset
    ops = TABLE.ops()
    lines = ["# CNTK operators", "",
             f"Generated from the exporter's operator table: {len(ops)} CNTK primitive operators, written at "
             f"ONNX opsets {low}-{high}. Blocks (`Dense`, `LSTM`, `Softmax` with an axis, ...) are expanded into "
             "their bodies; recurrences (loops through `PastValue`/`FutureValue`) become `Scan`. The exporter "
             "checks every operator of a model before converting: ops outside the table are one "
             "`UnsupportedOperator` error naming each op and a function that uses it.",
             "", "| family | CNTK ops | ONNX |", "|---|---|---|"]
    for family, doc, names in TABLE.families():
        lines.append(f"| {family} | {', '.join(f'`{o}`' for o in names)} | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
