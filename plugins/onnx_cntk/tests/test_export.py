"""Ground truth: models built and run by real CNTK 2.7, exported by onnxhub without CNTK, run by ONNX Runtime."""

import numpy as np
import onnx
import pytest
from onnxhub_cntk.export.exporter import EXPORTER

from onnxhub.testing import assert_close, run_cli

FAMILIES = ("mlp", "cnn", "mlp_full", "cnn_full", "tensor_ops", "lstm", "bidirectional", "sequence_ops",
            "recurrent_variants")
OPSETS = (13, 17, 21)


@pytest.fixture(scope="module")
def built(cntk, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cntk_export")
    out = {}
    for seed, name in enumerate(FAMILIES, 10):
        path = folder / f"{name}.model"
        _, arrays = cntk.call("build", {"name": name, "path": str(path), "seed": seed, "batch": 2})
        ys = [arrays[f"y{i}"] for i in range(len([k for k in arrays if k[1:].isdigit()]))]
        out[name] = (path, arrays["x"], ys)
    return out


def _dims(info):
    return [d.dim_param or d.dim_value for d in info.type.tensor_type.shape.dim]


def run_cntk_layout(model, x):
    """ONNX Runtime on CNTK-shaped data: a sequence input is fed ``[sequence, batch, ...]`` and sequence
    outputs are turned back to CNTK's ``[batch, sequence, ...]``."""
    (inp,) = model.graph.input
    feed = x.swapaxes(0, 1) if _dims(inp)[0] == "sequence" else x
    outs = run_onnx(model, {inp.name: np.ascontiguousarray(feed)})
    return [o.swapaxes(0, 1) if _dims(info)[0] == "sequence" else o for o, info in zip(outs, model.graph.output)]


def run_onnx(model, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("family", FAMILIES)
def test_matches_cntk_with_a_dynamic_batch(built, family, opset):
    path, x, ys = built[family]
    for y in ys:  # every output depends on the input
        assert np.ptp(y) > 1e-3 and not np.allclose(y[0], y[1])
    model = EXPORTER.export([path], opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    (inp,) = model.graph.input
    assert "batch" in _dims(inp)
    for out in model.graph.output:  # the layout convention, read by users from the file
        assert _dims(out)[:2] in (["sequence", "batch"], ["batch", _dims(out)[1]]), _dims(out)
    got = run_cntk_layout(model, x)
    assert len(got) == len(ys)
    for i, (g, y) in enumerate(zip(got, ys)):
        assert_close(g, y, rtol=1e-3, atol=1e-4, what=f"{family} output {i} at opset {opset}")
    # batch 3: the first two samples are unchanged (samples are independent)
    got3 = run_cntk_layout(model, np.concatenate([x, x[:1] * 0.5]))
    for i, (g, y) in enumerate(zip(got3, ys)):
        assert_close(g[:2], y, rtol=1e-3, atol=1e-4, what=f"{family} output {i} at batch 3")


@pytest.mark.runtime("cntk")
def test_cli_export(built, tmp_path):
    path, x, (y,) = built["cnn"]
    out = tmp_path / "cnn.onnx"
    r = run_cli("export", path, "-o", out)
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 17
    assert [o.name for o in model.graph.output] == ["out"]  # the CNTK layer's name
    (got,) = run_onnx(model, {model.graph.input[0].name: x})
    assert_close(got, y, what="cnn via the CLI")


@pytest.mark.runtime("cntk")
@pytest.mark.ground_truth
def test_resnet50_size_model(cntk, tmp_path):
    """ResNet-50 (25.5 M parameters, 98 MiB of weights) built with cntk.layers: the whole path at full size."""
    path = tmp_path / "resnet50.model"
    _, arrays = cntk.call("build", {"name": "resnet50", "path": str(path), "seed": 5, "batch": 2}, timeout=600)
    x, y = arrays["x"], arrays["y"]
    assert np.isfinite(y).all() and np.ptp(y) > 1e-3 and not np.allclose(y[0], y[1])
    out = tmp_path / "resnet50.onnx"
    r = run_cli("export", path, "-o", out)
    assert r.returncode == 0, r.stderr
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    assert sum(1 for n in model.graph.node if n.op_type == "Conv") == 53
    (got,) = run_onnx(model, {model.graph.input[0].name: x})
    assert_close(got, y, rtol=1e-3, atol=1e-4, what="resnet50")


@pytest.mark.runtime("cntk")
def test_static_batch_and_input_shape(built, tmp_path):
    path, x, ys = built["mlp_full"]

    def dims(model):
        return [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in list(model.graph.input) + list(model.graph.output)]

    assert dims(EXPORTER.export([path], static_batch=True)) == [[1, 10]] + [[1, 4]] * 3
    model = EXPORTER.export([path], input_shapes=["features=2,10"])
    assert dims(model) == [[2, 10]] + [[2, 4]] * 3
    for got, want in zip(run_onnx(model, {"features": x}), ys):
        assert_close(got, want, what="mlp_full at a fixed batch of 2")
    from onnxhub.errors import UsageError

    with pytest.raises(UsageError, match="does not fit"):
        EXPORTER.export([path], input_shapes=["features=2,11"])
    with pytest.raises(UsageError, match="names nope"):
        EXPORTER.export([path], input_shapes=["nope=2,10"])


@pytest.mark.runtime("cntk")
def test_reductions_over_all_axes_include_the_batch(cntk, tmp_path):
    # Axis.all_axes() reduced the last axis only: [batch, 3, 2] out where CNTK gives a scalar (#26)
    path = tmp_path / "reduce_all.model"
    _, arrays = cntk.call("build", {"name": "reduce_all", "path": str(path), "seed": 3, "batch": 2})
    model = EXPORTER.export([path], opset=17)
    onnx.checker.check_model(model, full_check=True)
    got = run_onnx(model, {model.graph.input[0].name: arrays["x"]})
    assert [list(o.shape) for o in got] == [[], [], [], [2], [2]]  # all static axes: one value per sample
    for i, y in enumerate(got):
        assert_close(y, arrays[f"y{i}"], what=f"output {i}")
    assert got[0] == pytest.approx(float(arrays["x"].sum()), rel=1e-5)  # over both samples
