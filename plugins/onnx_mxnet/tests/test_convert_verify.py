"""`onnxhub convert` from MXNet: grouping an inventory's files, and --verify on real MXNet both sides.

The pure-Python models of ``onnxhub_mxnet.samples`` convert anywhere; --verify runs the
source files and the converted files with real MXNet 1.9.1 (its runtime) or ONNX Runtime.
"""

import json
from pathlib import Path

import pytest
from onnxhub_mxnet.native import group_files
from onnxhub_mxnet.samples import write_inventory, write_model

from onnxhub.testing import ensure_runtime, run_cli


def test_group_files_pairs_each_symbol_with_its_latest_params(tmp_path):
    files = ["z/a-symbol.json", "z/a-0000.params", "z/a-0012.params", "z/a-0003.params", "z/b-symbol.json",
             "y/a-symbol.json", "y/a-0001.params", "z/orphan-0001.params"]
    assert group_files(files) == [["y/a-symbol.json", "y/a-0001.params"], ["z/a-symbol.json", "z/a-0012.params"],
                                  ["z/b-symbol.json"]]


def test_an_inventory_of_mxnet_models_converts_to_onnx_without_mxnet(tmp_path):
    src = tmp_path / "zoo"
    names = write_inventory(src, 3)
    write_model(src / "nested", "deep", depth=3)
    (src / "README.txt").write_text("not a model")
    out = tmp_path / "out"
    r = run_cli("convert", src, "--from", "mxnet", "--to", "onnx", "-o", out, "-j", "2", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert sorted(m["name"] for m in rep["models"]) == sorted(names + ["deep"])
    for m in rep["models"]:
        assert m["status"] == "ok" and len(m["files"]) == 2  # symbol + params, grouped
        assert (out / m["name"] / f"{m['name']}.onnx").is_file()


def _check_report(rep: dict, target: str) -> None:
    assert rep["failed"] == 0 and rep["mismatch"] == 0, rep
    for m in rep["models"]:
        (row,) = m["differences"]
        assert row["target"] == target and row["ok"] and row["max_abs"] < 1e-4, m


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("target, judge", [("mxnet", "mxnet"), ("onnx", "onnxruntime")])
def test_verify_runs_both_sides_for_real(tmp_path, target, judge):
    ensure_runtime("mxnet")
    src = tmp_path / "zoo"
    write_inventory(src, 3)
    r = run_cli("convert", src, "--from", "mxnet", "--to", target, "-o", tmp_path / "out", "-j", "2", "--verify",
                "--json")
    assert r.returncode == 0, r.stderr
    _check_report(json.loads(r.stdout), judge)


@pytest.mark.runtime("mxnet")
def test_verify_one_model_made_by_mxnet_itself(mxnet, tmp_path):
    """Files written by MXNet's own savers (a SoftmaxOutput with its label, implicit defaults)."""
    prefix = tmp_path / "net"
    mxnet.call("symbol", {"name": "implicit_defaults", "prefix": str(prefix)})
    files = [Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params")]
    for target in ("mxnet", "onnx"):
        out = tmp_path / f"out-{target}"
        r = run_cli("convert", *files, "--from", "mxnet", "--to", target, "-o", out, "--verify",
                    "--input-shape", "data=2,3,17,17", "--json")
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)
        assert result["ok"] and result["differences"][0]["max_abs"] < 1e-4
    r = run_cli("convert", *files, "--from", "mxnet", "--to", "mxnet", "-o", tmp_path / "out-mxnet", "--verify",
                "--input-shape", "data=2,3,17,17", "--force")
    assert r.returncode == 0 and "max abs diff" in r.stdout and "True" in r.stdout
