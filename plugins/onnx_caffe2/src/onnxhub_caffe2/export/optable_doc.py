"""The Caffe2 exporter's operator table as Markdown, generated from its ``OpTable``.

``python -m onnxhub_caffe2.export.optable_doc`` prints it; the docs build can call ``markdown()``
(a page of its own) and ``docs/caffe2.md`` ends with ``markdown("##")`` (``--section``; a test keeps it
current).
"""

from __future__ import annotations


def markdown(heading: str = "#") -> str:
    from .exporter import EXPORTER, TABLE

    low, high = EXPORTER.min_opset, EXPORTER.max_opset
    ops = TABLE.ops()
    lines = [f"{heading} Caffe2 operators", "",
             f"Generated from the exporter's operator table: {len(ops)} Caffe2 operator types, written at "
             f"ONNX opsets {low}-{high}. The exporter checks every op of the predict net before converting: "
             "types outside the table are one `UnsupportedOperator` error naming each type with the net and "
             "the index of an op that uses it.",
             "", "| family | Caffe2 ops | ONNX |", "|---|---|---|"]
    for family, doc, names in TABLE.families():
        lines.append(f"| {family} | {', '.join(f'`{o}`' for o in names)} | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(markdown("##" if "--section" in sys.argv else "#"), end="")  # --section: as docs/caffe2.md embeds it
