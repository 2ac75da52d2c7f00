"""docs/switching.md: its conversion matrix is rendered from the committed reports in docs/conversion/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from onnxhub.inventory import MATRIX_MARKER, classify, matrix_markdown

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
        {"name": "b", "status": "failed", "seconds": 0.1, "differences": None,
         "error": "UnsupportedOperator: unsupported operator Sign at opset 17 (node 's') in the MXNet importer"}]}
    (tmp_path / "mxnet-to-cntk.json").write_text(json.dumps(rep))
    md = matrix_markdown(tmp_path)
    assert "| **mxnet** | pending | pending | pending | 1/2 verified, max abs 2.0e-07; 1 not expressible by the target |" \
        in md
    assert "| b | failed | - | - | 0.1 | **target lacks Sign**: UnsupportedOperator: unsupported operator Sign" in md
    picture = md.splitlines()[0]  # the heat map of the same cells, inline SVG on one line
    assert picture.startswith("<svg") and picture.endswith("</svg>") and picture.count("<rect") == 3 * 4
    assert "mxnet -&gt; cntk: 1 of 2 models verified</title>" in picture and ">1/2</text>" in picture
    assert picture.count(">pending</text>") == 11


@pytest.mark.parametrize("model, reason", [
    ({"status": "ok"}, ""),
    ({"status": "mismatch"}, "converter bug: outputs differ beyond tolerance"),
    ({"status": "failed", "error": "UnsupportedOperator: unsupported operator Reshape (a CNTK limit: CNTK refused "
                                   "to build it) at opset 17 (node 'vec/Reshape') in the CNTK importer"},
     "target limit (Reshape): the target cannot express it"),
    ({"status": "failed", "error": "UnsupportedModel: the CNTK importer: graph input 'x' is a scalar: it has no "
                                   "batch axis for CNTK"}, "target limit: the target cannot express it"),
    ({"status": "failed", "error": "UnsupportedOperator: unsupported operator Foo in the Caffe2 exporter"},
     "source exporter lacks Foo"),
    ({"status": "failed", "error": "UnsupportedOperator: unsupported operator ArgMax, Scan at opset 17 (node 'n') in "
                                   "the MXNet importer"}, "target lacks ArgMax, Scan: the target cannot express it"),
    ({"status": "failed", "error": "RemoteError: ValueError in runtime: shapes do not match"}, "converter bug"),
])
def test_failures_are_classified(model, reason):
    assert classify(model) == reason


def test_a_passing_output_below_atol_shows_its_note(tmp_path):
    rep = {"verify": True, "total": 1, "seed": 0, "rtol": 1e-3, "atol": 1e-4, "models": [
        {"name": "tiny", "status": "ok", "seconds": 1.0, "differences": [
            {"output": "prob", "max_abs": 1e-9, "max_rel": 1e-4, "ok": True, "note": "|output| <= 1.0e-05, below atol"}]}]}
    (tmp_path / "caffe2-to-onnx.json").write_text(json.dumps(rep))
    assert "| tiny | ok | 1e-09 | 0.0001 | 1 | prob: |output| <= 1.0e-05, below atol |" in \
        matrix_markdown(tmp_path).replace("\\|", "|")
