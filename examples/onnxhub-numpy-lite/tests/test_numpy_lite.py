"""The example plugin, as a third party would test it: only through onnxhub's public API."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxhub
from onnxhub.errors import UnsupportedOperator
from onnxhub.testing import assert_matches_reference


def mlp() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["z"]), helper.make_node("Softmax", ["z"], ["y"], axis=-1)]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w1"),
         numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b1"),
         numpy_helper.from_array(rng.standard_normal((16, 3)).astype(np.float32), "w2")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_discovered_by_entry_point():
    r = subprocess.run([sys.executable, "-m", "onnxhub", "plugins", "--json"], capture_output=True, text=True)
    row = next(p for p in json.loads(r.stdout) if p["name"] == "numpy-lite")
    assert row["distribution"] == "onnxhub-numpy-lite" and row["status"] == "ok"
    assert any(b["name"] == "numpy-lite" and b["status"] == "ready" for b in onnxhub.backends())


def test_matches_reference_backend():
    out = assert_matches_reference("numpy-lite", mlp(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["y"].sum(axis=-1), 1.0, rtol=1e-6)


def test_unknown_op_is_unsupported_operator():
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv0")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3]),
                               helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 3, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedOperator, match=r"Conv at opset 17 \(node 'conv0'\)"):
        onnxhub.get_backend("numpy-lite").prepare(model)


def test_every_unsupported_op_is_named_at_once():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[1, 1]),
             helper.make_node("Conv", ["p", "w"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3]),
                                           helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 3, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedOperator, match="Conv, MaxPool at opset 17"):
        onnxhub.get_backend("numpy-lite").prepare(model)


def test_opsets_before_7_are_unsupported():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    with pytest.raises(UnsupportedOperator, match="Relu at opset 6"):
        onnxhub.get_backend("numpy-lite").prepare(model)


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_follows_its_opset(opset):
    """Before opset 13 Softmax normalizes over every dimension from ``axis`` on; from 13, over ``axis`` only.

    (ONNX's reference evaluator uses the opset-13 meaning at every opset, so the sums are the check.)
    """
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    y = onnxhub.run(model, {"x": x}, backend="numpy-lite")["y"]
    summed = y.sum(axis=(1, 2) if opset < 13 else 1)
    np.testing.assert_allclose(summed, np.ones_like(summed), rtol=1e-5)
