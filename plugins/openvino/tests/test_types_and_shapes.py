"""What the backend does on its side of OpenVINO: ml_dtypes as raw bits, f64 at the edge, shape arguments."""

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper

from onnxhub_openvino.backend import OpenVinoBackend, shape_argument_inputs

# (ONNX type, ml_dtypes dtype, values exactly representable in it)
CASES = [
    (TensorProto.BFLOAT16, ml_dtypes.bfloat16, [1.0, -2.5, 0.15625, 384.0, 0.0, -0.0, 7.0]),
    (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn, [1.0, -2.5, 0.15625, 384.0, 0.0, 448.0, -7.0]),
    (TensorProto.FLOAT8E5M2, ml_dtypes.float8_e5m2, [1.0, -2.5, 0.125, 384.0, 0.0, 57344.0, -7.0]),
    (TensorProto.INT4, ml_dtypes.int4, [1, -2, 3, -8, 7, 0, -1]),
    (TensorProto.UINT4, ml_dtypes.uint4, [1, 2, 3, 15, 7, 0, 8]),
]


def cast_model(src, dst, shape=(7,), opset=21):
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=dst)], "cast",
        [helper.make_tensor_value_info("x", src, list(shape))], [helper.make_tensor_value_info("y", dst, list(shape))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


@pytest.mark.parametrize(("elem", "dtype", "values"), CASES, ids=[TensorProto.DataType.Name(c[0]) for c in CASES])
def test_ml_dtypes_input_is_fed_as_raw_bits(elem, dtype, values):
    x = np.array(values, np.float32).astype(dtype)
    (y,) = OpenVinoBackend.prepare(cast_model(elem, TensorProto.FLOAT)).run([x])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array(values, np.float32))


@pytest.mark.parametrize(("elem", "dtype", "values"), CASES, ids=[TensorProto.DataType.Name(c[0]) for c in CASES])
def test_ml_dtypes_output_comes_back_as_its_type(elem, dtype, values):
    x = np.array(values, np.float32).reshape(1, 7)
    (y,) = OpenVinoBackend.prepare(cast_model(TensorProto.FLOAT, elem, shape=(1, 7))).run([x])
    assert y.dtype == np.dtype(dtype) and y.shape == (1, 7)
    np.testing.assert_array_equal(y.astype(np.float32), x)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # -1e300 as f32: numpy says so
def test_float64_keeps_infinities():
    # OpenVINO computes f64 as f32, and its own conversion at the edge saturates inf to 3.4e38
    x = np.array([1.5, np.inf, -np.inf, np.nan], np.float32)
    (y,) = OpenVinoBackend.prepare(cast_model(TensorProto.FLOAT, TensorProto.DOUBLE, shape=(4,))).run([x])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x.astype(np.float64))
    (z,) = OpenVinoBackend.prepare(cast_model(TensorProto.DOUBLE, TensorProto.FLOAT, shape=(3,))).run(
        [np.array([np.inf, -1e300, 2.0])])
    np.testing.assert_array_equal(z, np.array([np.inf, -np.inf, 2.0], np.float32))


def unsqueeze_model():
    graph = helper.make_graph([helper.make_node("Unsqueeze", ["x", "axes"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
                               helper.make_tensor_value_info("axes", TensorProto.INT64, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_shape_arguments_fed_as_inputs_compile_per_value():
    # OpenVINO's CPU plugin cannot compile an Unsqueeze whose axes (so its rank) come at run time
    model = unsqueeze_model()
    assert shape_argument_inputs(model) == ["axes"]
    rep = OpenVinoBackend.prepare(model)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert rep.run([x, np.array([0])])[0].shape == (1, 3, 4)
    assert rep.run({"x": x, "axes": np.array([0])})[0].shape == (1, 3, 4)
    assert rep.compiles == 1
    (y,) = rep.run([x, np.array([2])])
    assert y.shape == (3, 4, 1) and rep.compiles == 2
    np.testing.assert_array_equal(y[..., 0], x)


def test_unused_input_is_accepted_and_ignored():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
                               helper.make_tensor_value_info("unused", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (y,) = OpenVinoBackend.prepare(model).run([np.array([-1.0, 2.0], np.float32), np.zeros(2, np.float32)])
    np.testing.assert_array_equal(y, [0.0, 2.0])


def test_function_body_stands_in_for_a_missing_operator():
    # SwiGLU (opset 28) has no rule in OpenVINO's ONNX frontend; ONNX defines it as Swish(A) * B
    graph = helper.make_graph([helper.make_node("SwiGLU", ["a", "b"], ["y"])], "g",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("a", "b")],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 28)])
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2))
    (y,) = OpenVinoBackend.prepare(model).run([a, b])
    np.testing.assert_allclose(y, a / (1 + np.exp(-a)) * b, rtol=1e-5, atol=1e-6)
