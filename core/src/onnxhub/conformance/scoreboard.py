"""Build the conformance scoreboard page from committed JSON reports.

    python -m onnxhub.conformance.scoreboard docs/conformance

reads every ``*.json`` report in the folder and writes ``index.md`` there: one row per
backend, a heat map of backend x operator (``heatmap.svg``, beside it), then the operator x
backend table (passed of the cases testing each operator).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .report import by_operator, expectations_line


def render(reports: list[dict]) -> str:
    reports = sorted(reports, key=lambda r: -r["pass_rate"])
    out = ["# Conformance scoreboard", "",
           "Cases of the ONNX backend test suite shipped with onnx (node, real, simple, pytorch-converted, "
           "pytorch-operator), CPU device, run by `onnxhub test-backend NAME --report docs/conformance/NAME.json`. "
           "Every collected case counts in the total; unsupported (refused by the backend) and skipped cases are "
           "not passes; nothing is excluded. Each backend's conformance workers start with its `BackendSpec.env`: "
           "the reference pins numpy's OpenBLAS to one kernel family (Haswell) and one thread, because the light "
           "real models are ill-conditioned (logits near 1e19) and their outcome otherwise moves with the CPU.", "",
           *_expectations(reports), "",
           "| backend | onnx | passed | failed | unsupported | skipped | total | pass rate |",
           "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        out.append(f"| [{r['backend']}]({r['backend']}.md) | {r['onnx_version']} | {r['passed']} | {r['failed']} "
                   f"| {r.get('unsupported', 0)} | {r['skipped']} | {r['total']} | {100 * r['pass_rate']:.1f} % |")
    out += ["", "## By operator", "",
            "Passed of the cases that test each operator (the operator a case is named for, expanded variants "
            "included), per backend; each backend's page lists every case not passed. At a glance (green: all "
            "pass, yellow: half, red: none, grey: no case; hover a square for its numbers):", "",
            f"![{HEATMAP_TITLE}]({HEATMAP})", "",
            "| operator | " + " | ".join(r["backend"] for r in reports) + " |",
            "|---|" + "---|" * len(reports)]
    tables = [{row["op"]: row for row in by_operator(r)} for r in reports]
    for op in sorted({op for t in tables for op in t}, key=str.lower):
        out.append(f"| {op} | " + " | ".join(_cell(t.get(op)) for t in tables) + " |")
    return "\n".join(out) + "\n"


def _expectations(reports: list[dict]) -> list[str]:
    """One line when every report's expectations came from the same versions, else one per backend."""
    lines = {expectations_line(r) for r in reports}
    if len(lines) == 1:
        return [lines.pop()]
    return [f"- {r['backend']}: {expectations_line(r)}" for r in reports]


def _cell(row: dict | None) -> str:
    """``✓ 8/8``, ``~ 59/82``, ``✗ 0/2``: signs every text font has (no emoji font needed)."""
    if row is None:
        return ""
    mark = "✓" if row["passed"] == row["total"] else "~" if row["passed"] else "✗"
    return f"{mark} {row['passed']}/{row['total']}"


HEATMAP, HEATMAP_TITLE = "heatmap.svg", "ONNX conformance: passed fraction per operator and backend"


def heatmap(reports: list[dict]) -> str:
    """Backend rows x operator columns, the same numbers as the table."""
    from ..heatmap import svg

    reports = sorted(reports, key=lambda r: -r["pass_rate"])
    tables = {r["backend"]: {row["op"]: row for row in by_operator(r)} for r in reports}
    ops = sorted({op for t in tables.values() for op in t}, key=str.lower)

    def cell(backend, op):
        row = tables[backend].get(op)
        if row is None or not row["total"]:
            return None, "", f"{op} on {backend}: no case"
        return row["passed"] / row["total"], "", f"{op} on {backend}: {row['passed']}/{row['total']} passed"

    return svg(list(tables), ops, cell, title=HEATMAP_TITLE)


def main(argv=None) -> int:
    folder = Path((argv or sys.argv[1:] or ["docs/conformance"])[0])
    reports = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    (folder / "index.md").write_text(render(reports), encoding="utf-8")
    (folder / HEATMAP).write_text(heatmap(reports), encoding="utf-8")
    print(f"wrote {folder / 'index.md'} and {HEATMAP} ({len(reports)} backends)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
