"""Ground truth: nets built, saved and run by real Caffe2 at batch 2, exported by onnxhub without Caffe2,
run by ONNX Runtime at batch 2 and 1."""

import json

import numpy as np
import onnx
import pytest
from onnxhub_caffe2.export.exporter import EXPORTER

from onnxhub.testing import assert_close, run_cli

# family -> how it was saved (see caffe2_side.build) and the --input-shape it needs, if any
FAMILIES = {
    "lenet": {"style": "mobile"},
    "alexnet": {"style": "plain"},
    "vgg_bn": {"style": "zoo"},
    "squeezenet": {"style": "mobile", "text": True},
    "mobilenet_v2": {"style": "mobile"},
    "legacy_pooling": {"style": "plain"},
    "legacy_broadcast": {"style": "zoo"},
    "channel_ops": {"style": "zoo"},
    "detectron_blocks": {"style": "mobile"},
    "misc_ops": {"style": "zoo"},
    "shufflenet": {"style": "mobile"},
    "resnext": {"style": "mobile"},
    "resnet_cifar": {"style": "plain", "text": True},
    "googlenet": {"style": "zoo"},
    "conv_padding": {"style": "mobile"},
}
OPSETS = (13, 17, 21)


@pytest.fixture(scope="module")
def built(caffe2, tmp_path_factory):
    folder = tmp_path_factory.mktemp("caffe2_export")
    out = {}
    for seed, (name, how) in enumerate(FAMILIES.items(), 10):
        result, arrays = caffe2.call("build", dict(how, name=name, folder=str(folder / name), seed=seed, batch=2))
        ys = [arrays[f"y{i}"] for i in range(len(result["outputs"]))]
        out[name] = (result, arrays["x"], ys)
    return out


def run_onnx(model, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _files(result, reverse=False):
    files = [result["paths"]["predict"], result["paths"]["init"]]
    return files[::-1] if reverse else files


def _check(model, result, x, ys, what):
    assert [o.name for o in model.graph.output] == result["outputs"], what
    (inp,) = model.graph.input
    assert inp.name == result["input"]
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch", what
    for batch in (2, 1):
        got = run_onnx(model, {inp.name: x[:batch]})
        assert len(got) == len(ys)
        for i, (g, y) in enumerate(zip(got, ys)):
            assert_close(g, y[:batch], rtol=1e-3, atol=1e-4, what=f"{what} output {i} at batch {batch}")


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_matches_caffe2_with_a_dynamic_batch(built, family, opset):
    result, x, ys = built[family]
    for y in ys:  # every output depends on the input
        assert np.isfinite(y).all() and np.ptp(y) > 1e-4 and not np.allclose(y[0], y[1]), family
    model = EXPORTER.export(_files(result, reverse=opset == 17), opset=opset)  # file order is free
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    _check(model, result, x, ys, f"{family} at opset {opset}")


@pytest.mark.runtime("caffe2")
def test_legacy_pooling_with_static_spatial_size(built):
    """With the spatial size known, Caffe's ceil-mode pads are written out exactly where ONNX allows them."""
    result, x, ys = built["legacy_pooling"]
    model = EXPORTER.export(_files(result), input_shapes=["data=2,2,12,11"])
    onnx.checker.check_model(model, full_check=True)
    attrs = {n.output[0]: {a.name: list(a.ints) or a.i for a in n.attribute} for n in model.graph.node}
    assert attrs["a"]["pads"] == [0, 0, 2, 0] and "ceil_mode" not in attrs["a"]
    assert attrs["c"]["ceil_mode"] == 1  # its tail pad would be the kernel's size: ONNX's ceil mode instead
    _check(model, result, x, ys, "legacy_pooling, static spatial size")


@pytest.mark.runtime("caffe2")
def test_cli_export(built, tmp_path):
    result, x, ys = built["lenet"]
    out = tmp_path / "lenet.onnx"
    r = run_cli("export", result["paths"]["init"], result["paths"]["predict"], "-o", out)
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 17
    # mobile_exporter's [1, 1] placeholder for the input is not a weight
    assert "data" not in {i.name for i in model.graph.initializer}
    _check(model, result, x, ys, "lenet via the CLI")


@pytest.mark.ground_truth  # a 128 MB init_net: once per CI run, not per Python
@pytest.mark.runtime("caffe2")
def test_resnet50(caffe2, tmp_path):
    """caffe2.python.models.resnet ResNet-50 (25.5 M parameters), saved by mobile_exporter."""
    result, arrays = caffe2.call("build", {"name": "resnet50", "folder": str(tmp_path / "r50"), "seed": 5,
                                           "batch": 2, "style": "mobile"}, timeout=600)
    x, y = arrays["x"], arrays["y0"]
    assert np.isfinite(y).all() and np.ptp(y) > 1e-4 and not np.allclose(y[0], y[1])
    out = tmp_path / "resnet50.onnx"
    r = run_cli("export", result["paths"]["predict"], result["paths"]["init"], "-o", out)
    assert r.returncode == 0, r.stderr
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    assert sum(1 for n in model.graph.node if n.op_type == "Conv") == 53
    _check(model, result, x, [y], "resnet50")


@pytest.mark.runtime("caffe2")
def test_a_predict_net_alone_converts_verified_against_caffe2(caffe2, tmp_path):
    # init_net=None, as Caffe2's own frontend allows: the weights are inputs, fed to real Caffe2 too (#26)
    from netdef_bytes import mlp, write

    predict_path, _ = write(tmp_path, *mlp())
    shapes = ["--input-shape", "x=2,4", "--input-shape", "W=3,4", "--input-shape", "b=3"]
    r = run_cli("convert", predict_path, "--from", "caffe2", "--to", "onnx", "-o", tmp_path / "out", "--verify",
                "--json", *shapes)
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)["differences"]
    assert row["ok"] and row["source"] == "caffe2" and row["max_abs"] < 1e-5
