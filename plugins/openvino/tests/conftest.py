import importlib.util

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxhub_openvino  # noqa: F401  (first: it keeps OpenVINO's telemetry from loading; see its docstring)
from onnxhub.testing import run_cli  # noqa: F401  (the tests import it from here)

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
INSTALL_HINT = "openvino is not installed; run: pip install -c constraints.txt ./plugins/openvino"
NEEDS_OPENVINO = ("test_backend.py", "test_conformance.py", "test_types_and_shapes.py")  # modules that import it


def pytest_ignore_collect(collection_path, config):
    # Without openvino those modules cannot be imported; test_discovery's test_openvino_is_installed
    # carries the install hint instead (a skip locally, a failure under ONNXHUB_REQUIRE_RUNTIMES=1).
    if not HAS_OPENVINO and collection_path.name in NEEDS_OPENVINO:
        return True
    return None


def small_model(opset=17, ir_version=8, batch="N"):
    """y = relu(x @ W + b), x: float32[N, 4]."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["z"]),
         helper.make_node("Relu", ["z"], ["y"])],
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
        [numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W"),
         numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "small.onnx"
    onnx.save(small_model(), str(path))
    return path
