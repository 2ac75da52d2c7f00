"""Conformance reports: JSON (the data), Markdown (per-operator table), HTML (one page)."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

# Every case ends in exactly one of these; only "passed" is a pass.
OUTCOMES = ("passed", "failed", "unsupported", "skipped")


def summary_line(r: dict) -> str:
    return (f"{r['backend']} ({r['device']}), onnx {r['onnx_version']}: {r['passed']} passed, "
            f"{r['failed']} failed, {r.get('unsupported', 0)} unsupported, {r['skipped']} skipped of "
            f"{r['total']} cases (pass rate {100 * r['pass_rate']:.1f} %)")


def expectations_line(r: dict) -> str:
    """Which package versions computed the expected outputs (reports before this field: unknown)."""
    versions = r.get("expectations")
    if not versions:
        return "Expected outputs: package versions not recorded."
    named = ", ".join(f"{k} {v or 'absent'}" for k, v in versions.items())
    return (f"Expected outputs computed by {named} (the suite generates its node cases' expectations when it "
            "is collected; the pins and their reasons are in constraints.in).")


def by_operator(r: dict) -> list[dict]:
    groups = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for case in r["cases"]:
        groups[case.get("op") or "?"][case["outcome"]] += 1
    rows = []
    for op, g in sorted(groups.items(), key=lambda kv: kv[0].lower()):
        total = sum(g.values())
        rows.append({"op": op, "total": total, **g, "pass_rate": g["passed"] / total if total else 0.0})
    return rows


def to_json(r: dict) -> str:
    return json.dumps(r, indent=1) + "\n"


def to_markdown(r: dict) -> str:
    out = [f"# Conformance: {r['backend']}", "", summary_line(r) + ".", "", expectations_line(r), "",
           "Every collected case counts; unsupported (refused by the backend) and skipped cases are not "
           "passes.", "",
           "| operator | cases | passed | failed | unsupported | skipped | pass rate |", "|---|---|---|---|---|---|---|"]
    for row in by_operator(r):
        out.append(f"| {row['op']} | {row['total']} | {row['passed']} | {row['failed']} | {row['unsupported']} "
                   f"| {row['skipped']} | {100 * row['pass_rate']:.0f} % |")
    bad = [c for c in r["cases"] if c["outcome"] != "passed"]
    if bad:
        out += ["", "## Cases not passed", "", "| case | outcome | message |", "|---|---|---|"]
        for c in bad:
            msg = c["message"].replace("|", "\\|").replace("\n", " ")[:200]
            out.append(f"| {c['name']} | {c['outcome']} | {msg} |")
    return "\n".join(out) + "\n"


def to_html(r: dict) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(x['op'])}</td><td>{x['total']}</td><td>{x['passed']}</td><td>{x['failed']}</td>"
        f"<td>{x['unsupported']}</td><td>{x['skipped']}</td><td>{100 * x['pass_rate']:.0f} %</td></tr>"
        for x in by_operator(r)
    )
    bad = "".join(
        f"<tr class='{c['outcome']}'><td>{e(c['name'])}</td><td>{c['outcome']}</td><td>{e(c['message'][:300])}</td></tr>"
        for c in r["cases"] if c["outcome"] != "passed"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Conformance: {e(r['backend'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}.failed{{background:#fdd}}.skipped{{background:#ffd}}
.unsupported{{background:#eef}}</style>
</head><body><h1>Conformance: {e(r['backend'])}</h1><p>{e(summary_line(r))}.</p>
<p>{e(expectations_line(r))}</p>
<p>Every collected case counts; unsupported and skipped cases are not passes.</p>
<h2>By operator</h2><table><tr><th>operator</th><th>cases</th><th>passed</th><th>failed</th><th>unsupported</th>
<th>skipped</th>
<th>pass rate</th></tr>{rows}</table>
<h2>Cases not passed</h2><table><tr><th>case</th><th>outcome</th><th>message</th></tr>{bad}</table>
</body></html>
"""


WRITERS = {".json": to_json, ".md": to_markdown, ".html": to_html}


def write(r: dict, path, force: bool = False) -> None:
    from ..modelio import atomic_file

    path = Path(path)
    with atomic_file(path, force=force) as tmp:
        tmp.write_text(WRITERS[path.suffix](r), encoding="utf-8")
