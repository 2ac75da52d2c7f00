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
