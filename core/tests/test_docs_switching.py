"""docs/switching.md: its conversion matrix is rendered from the committed reports in docs/conversion/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from onnxhub.inventory import MATRIX_MARKER, matrix_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_page_expands_its_marker_into_the_matrix():
    spec = importlib.util.spec_from_file_location("onnxhub_docs_hooks", DOCS / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = hooks.expand_switching_page((DOCS / "switching.md").read_text(encoding="utf-8"), DOCS / "conversion")
    assert MATRIX_MARKER not in page
    assert "| from \\ to | **onnx** | **mxnet** | **caffe2** | **cntk** |" in page
    assert "### mxnet → onnx" in page and "### mxnet → mxnet" in page


def test_the_committed_reports_are_real_verified_runs():
    reports = sorted((DOCS / "conversion").glob("*-to-*.json"))
    assert {p.stem for p in reports} >= {"mxnet-to-onnx", "mxnet-to-mxnet"}
    for path in reports:
        rep = json.loads(path.read_text())
        assert rep["verify"] and rep["total"] == len(rep["models"]) >= 1
        for m in rep["models"]:
            assert m["status"] in ("ok", "mismatch", "failed")
            if m["status"] == "ok":
                assert all(d["ok"] for d in m["differences"]), (path.name, m["name"])
            assert all("/" not in f for f in m["files"])  # no paths of the machine that made it


def test_a_cell_counts_verified_models_and_a_missing_report_is_pending(tmp_path):
    rep = {"verify": True, "total": 2, "seed": 0, "rtol": 1e-3, "atol": 1e-4, "models": [
        {"name": "a", "status": "ok", "seconds": 1.0, "differences": [{"max_abs": 2e-7, "max_rel": 1e-6, "ok": True}]},
        {"name": "b", "status": "failed", "seconds": 0.1, "differences": None, "error": "UnsupportedOperator: X"}]}
    (tmp_path / "mxnet-to-cntk.json").write_text(json.dumps(rep))
    md = matrix_markdown(tmp_path)
    assert "| **mxnet** | pending | pending | pending | 1/2 verified, max abs 2.0e-07 |" in md
    assert "| b | failed | - | - | 0.1 | UnsupportedOperator: X |" in md
