"""The NetDef reader and the exporter's input/weight rules on hand-built nets (no Caffe2 needed)."""

import json

import numpy as np
import onnx
import pytest
from netdef_bytes import given, mlp, net, reference, write
from onnxhub_caffe2.export.exporter import EXPORTER
from onnxhub_caffe2.formats.netdef import fill_value, read_netdef, read_pair

from onnxhub.errors import InvalidModel, UsageError
from onnxhub.testing import assert_close


def _run(model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {model.graph.input[0].name: x})


X = np.random.RandomState(0).uniform(-1, 1, (3, 4)).astype(np.float32)



def read_weights(init) -> dict:
    """``{blob: array}`` for every fill of the init net, as the exporter reads them."""
    return {op.outputs[0]: fill_value(op, init.path) for op in init.ops if op.outputs}

@pytest.mark.parametrize("text", [False, True])
def test_binary_and_text_nets_read_alike(tmp_path, text):
    predict_path, init_path = write(tmp_path, *mlp(), text=text)
    predict = read_netdef(predict_path)
    assert [op.type for op in predict.ops] == ["FC", "Relu", "Softmax"]
    assert predict.ops[0].args == {"engine_hint": 1}
    assert predict.external_input == ["x", "W", "b"] and predict.external_output == ["prob"]
    weights = read_weights(read_netdef(init_path))
    from netdef_bytes import W

    np.testing.assert_array_equal(weights["W"], W)
    assert weights["W"].dtype == np.float32 and weights["b"].shape == (3,)
    model = EXPORTER.export([init_path, predict_path])  # any order
    onnx.checker.check_model(model, full_check=True)
    (got,) = _run(model, X)
    assert_close(got, reference(X), what="mlp")


def test_every_fill_kind(tmp_path):
    ops = [given("f", np.ones((2, 2), np.float32)),
           given("i64", np.array([3, -4], np.int64), "GivenTensorInt64Fill"),
           given("i32", np.array([[1], [2]], np.int32), "GivenTensorIntFill"),
           given("flags", np.array([1, 0, 1]), "GivenTensorBoolFill"),
           ("GivenTensorDoubleFill", [], ["d"], {"shape": [2], "values": [0.5, 1.5]}),
           ("ConstantFill", [], ["c"], {"shape": [2, 3], "value": 2.5}),
           ("ConstantFill", [], ["ci"], {"shape": [2], "value": 7, "dtype": 10}),
           ("ConstantFill", [], ["cb"], {"shape": [1], "value": 1, "dtype": 5, "extra_shape": [2]})]
    path = tmp_path / "init_net.pb"
    path.write_bytes(net("init", ops).SerializeToString())
    w = read_weights(read_netdef(path))
    assert w["f"].dtype == np.float32 and w["f"].shape == (2, 2)
    assert w["i64"].dtype == np.int64 and w["i64"].tolist() == [3, -4]
    assert w["i32"].dtype == np.int32 and w["i32"].shape == (2, 1)
    assert w["flags"].dtype == np.bool_ and w["flags"].tolist() == [True, False, True]
    assert w["d"].dtype == np.float64
    assert w["c"].tolist() == [[2.5] * 3] * 2
    assert w["ci"].dtype == np.int64 and w["ci"].tolist() == [7, 7]
    assert w["cb"].dtype == np.bool_ and w["cb"].shape == (1, 2)


def test_mobile_exporter_placeholder_is_the_input(tmp_path):
    predict_path, init_path = write(tmp_path, *mlp(placeholder=True))
    model = EXPORTER.export([predict_path, init_path])
    assert [i.name for i in model.graph.input] == ["x"]
    assert "x" not in {i.name for i in model.graph.initializer}
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 4]  # from FC's weight
    (got,) = _run(model, X)
    assert_close(got, reference(X), what="mobile_exporter style")


def test_input_shape_and_value_info(tmp_path):
    predict_path, init_path = write(tmp_path, *mlp(placeholder=True))
    model = EXPORTER.export([predict_path, init_path], input_shapes=["x=5,4"])
    assert [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == ["batch", 4]
    model = EXPORTER.export([predict_path, init_path], input_shapes=["x=5,4"], static_batch=True)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [5, 4]
    with pytest.raises(UsageError, match="names nope"):
        EXPORTER.export([predict_path, init_path], input_shapes=["nope=1,4"])
    (tmp_path / "value_info.json").write_text(json.dumps({"x": [1, [1, 4]]}))
    model = EXPORTER.export([predict_path, init_path])
    assert [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == ["batch", 4]


def test_in_place_ops_get_their_own_names(tmp_path):
    extra = [("Scale", ["h"], ["h"], {"scale": 2.0}), ("Relu", ["h"], ["h"], {})]
    predict_path, init_path = write(tmp_path, *mlp(extra_ops=extra))
    model = EXPORTER.export([predict_path, init_path])
    outputs = [o for n in model.graph.node for o in n.output]
    assert len(outputs) == len(set(outputs))  # SSA: every tensor written once
    assert {"h", "h_1", "h_2"} <= set(outputs)
    (got,) = _run(model, X)
    h = np.maximum(np.maximum(X @ (np.arange(12, dtype=np.float32).reshape(3, 4) - 5).T / 7
                              + np.array([0.5, -1.0, 0.25], np.float32), 0) * 2, 0)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    assert_close(got, e / e.sum(axis=1, keepdims=True), what="in-place chain")


def test_pair_is_told_apart_by_content(tmp_path):
    predict_path, init_path = write(tmp_path, *mlp())
    predict, init = read_pair([init_path, predict_path])
    assert predict.path == str(predict_path) and init.path == str(init_path)
    with pytest.raises(InvalidModel, match="both init nets"):
        read_pair([init_path, init_path])
    with pytest.raises(InvalidModel, match="both predict nets"):
        read_pair([predict_path, predict_path])


def test_docs_operator_table_is_current():
    from pathlib import Path

    from onnxhub_caffe2.export.optable_doc import markdown

    doc = Path(__file__).resolve().parents[3] / "docs" / "caffe2.md"
    if not doc.exists():
        pytest.skip("docs/caffe2.md is not beside this checkout")
    assert markdown("##") in doc.read_text(), ("docs/caffe2.md's operator table is stale: regenerate it with "
                                               "python -m onnxhub_caffe2.export.optable_doc --section")


def test_in_place_op_on_the_input_keeps_names_unique(tmp_path):
    from netdef_bytes import W

    predict = net("inplace", [("Relu", ["x"], ["x"], {}), ("FC", ["x", "W", "b"], ["x"], {})], ["x", "W", "b"], ["x"])
    _, init = mlp()
    model = EXPORTER.export(write(tmp_path, predict, init), input_shapes=["x=3,4"])  # Relu tells no shape
    onnx.checker.check_model(model, full_check=True)
    (out,) = model.graph.output
    assert out.name != "x" and model.graph.input[0].name == "x"
    (got,) = _run(model, X)
    assert_close(got, np.maximum(X, 0) @ W.T + np.array([0.5, -1.0, 0.25], np.float32), what="in place on the input")
