"""``run_files`` / ``group_files`` of the CNTK exporter and importer (``onnxhub convert --verify``).

Models built, saved and evaluated by real CNTK 2.7 (``cntk_side.build``, batch 2) are the
ground truth. ``run_files`` takes and gives values in the exported ONNX graph's layout
(a sequence input or output is ``[sequence, batch, ...]`` there, ``[batch, sequence, ...]``
in CNTK), so the test turns the ground truth into that layout through the exported graph.
"""

import json

import numpy as np
import pytest
from onnxhub_cntk.export.exporter import EXPORTER
from onnxhub_cntk.import_.importer import IMPORTER
from onnxhub_cntk.native import group_files

from onnxhub.testing import assert_close, run_cli

# mlp_full / sequence_ops: several outputs (order); lstm: a sequence input, a batch output;
# sequence_ops: sequence outputs too.
FAMILIES = ("mlp", "cnn", "mlp_full", "lstm", "sequence_ops")
BATCH_ONLY = ("mlp", "cnn", "mlp_full")  # what the importer (batch axis only) takes back


def test_group_files_makes_one_model_per_file():
    assert group_files(["b/x.model", "a.model", "notes.txt"]) == [["a.model"], ["b/x.model"]]


def test_the_converters_offer_run_files():
    assert callable(EXPORTER.run_files) and callable(EXPORTER.group_files) and callable(IMPORTER.run_files)


@pytest.fixture(scope="module")
def built(cntk, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cntk_native")
    out = {}
    for seed, name in enumerate(FAMILIES, 30):
        path = folder / f"{name}.model"
        _, arrays = cntk.call("build", {"name": name, "path": str(path), "seed": seed, "batch": 2})
        ys = [arrays[f"y{i}"] for i in range(len([k for k in arrays if k[1:].isdigit()]))]
        out[name] = (path, arrays["x"], ys)
    return out


def _sequence(info) -> bool:
    dims = info.type.tensor_type.shape.dim
    return bool(dims) and dims[0].dim_param == "sequence"


def _onnx_layout(model, x, ys):
    """``({input name: x}, ys)`` in the ONNX graph's layout."""
    (inp,) = model.graph.input
    feed = np.ascontiguousarray(x.swapaxes(0, 1)) if _sequence(inp) else x
    return {inp.name: feed}, [y.swapaxes(0, 1) if _sequence(o) else y for y, o in zip(ys, model.graph.output)]


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("family", FAMILIES)
def test_run_files_is_cntk_on_the_users_file(built, family):
    path, x, ys = built[family]
    model = EXPORTER.export([path])
    feeds, want = _onnx_layout(model, x, ys)
    got = EXPORTER.run_files([str(path)], feeds)
    assert len(got) == len(want) == len(model.graph.output)
    for info, g, w in zip(model.graph.output, got, want):
        assert_close(g, w, rtol=1e-5, atol=1e-6, what=f"{family} output {info.name!r}")


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("family", BATCH_ONLY)
def test_importer_run_files_runs_the_written_model(built, family, tmp_path):
    path, x, ys = built[family]
    model = EXPORTER.export([path])
    feeds, want = _onnx_layout(model, x, ys)
    written = IMPORTER.import_model(model, tmp_path)
    got = IMPORTER.run_files([str(p) for p in written], feeds)  # the batch axis is CNTK's dynamic one
    assert len(got) == len(want)
    for info, g, w in zip(model.graph.output, got, want):
        assert_close(g, w, rtol=1e-3, atol=1e-4, what=f"{family} re-imported, output {info.name!r}")


def _check_verified(r, judge, outputs):
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"], rep
    assert len(rep["differences"]) == outputs
    for row in rep["differences"]:
        assert row["ok"] and row["target"] == judge and row["max_abs"] < 1e-4, row


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("family", ["mlp", "cnn", "mlp_full"])
def test_convert_verify_cntk_to_cntk(built, family, tmp_path):
    path, _, ys = built[family]
    r = run_cli("convert", path, "--from", "cntk", "--to", "cntk", "-o", tmp_path / "out", "--verify", "--json")
    _check_verified(r, "cntk", len(ys))


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("family", ["mlp_full", "lstm", "sequence_ops"])
def test_convert_verify_cntk_to_onnx(built, family, tmp_path):
    path, _, ys = built[family]
    r = run_cli("convert", path, "--from", "cntk", "--to", "onnx", "-o", tmp_path / "out", "--verify", "--json")
    _check_verified(r, "onnxruntime", len(ys))


@pytest.mark.runtime("cntk")
def test_convert_verify_prints_a_difference_table(built, tmp_path):
    path, _, _ = built["cnn"]
    r = run_cli("convert", path, "--from", "cntk", "--to", "cntk", "-o", tmp_path / "out", "--verify")
    assert r.returncode == 0, r.stderr
    assert "max abs diff" in r.stdout
