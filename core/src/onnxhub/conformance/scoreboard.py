"""Build the conformance scoreboard page from committed JSON reports.

    python -m onnxhub.conformance.scoreboard docs/conformance

reads every ``*.json`` report in the folder and writes ``index.md`` there: one row per
backend, then each backend's per-operator breakdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .report import by_operator


def render(reports: list[dict]) -> str:
    reports = sorted(reports, key=lambda r: -r["pass_rate"])
    out = ["# Conformance scoreboard", "",
           "Cases of the ONNX backend test suite shipped with onnx (node, real, simple, pytorch-converted, "
           "pytorch-operator), CPU device, run by `onnxhub test-backend NAME --report docs/conformance/NAME.json`. "
           "Every collected case counts in the total; a skipped case is not a pass; nothing is excluded.", "",
           "| backend | onnx | passed | failed | skipped | total | pass rate |", "|---|---|---|---|---|---|---|"]
    for r in reports:
        out.append(f"| {r['backend']} | {r['onnx_version']} | {r['passed']} | {r['failed']} | {r['skipped']} "
                   f"| {r['total']} | {100 * r['pass_rate']:.1f} % |")
    for r in reports:
        out += ["", f"## {r['backend']}", "", "| operator | cases | passed | failed | skipped |", "|---|---|---|---|---|"]
        for row in by_operator(r):
            out.append(f"| {row['op']} | {row['total']} | {row['passed']} | {row['failed']} | {row['skipped']} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    folder = Path((argv or sys.argv[1:] or ["docs/conformance"])[0])
    reports = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    (folder / "index.md").write_text(render(reports), encoding="utf-8")
    print(f"wrote {folder / 'index.md'} ({len(reports)} backends)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
