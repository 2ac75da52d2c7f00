"""Inputs and outputs whose dtype ORT's Python binding refuses (ml_dtypes): fed and read as raw bits."""

import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from onnxhub_onnxruntime.backend import RAW_TYPES, OnnxRuntimeBackend, from_ortvalue, to_ortvalue

from conftest import small_model

# (ONNX type, ml_dtypes dtype, values exactly representable in it)
CASES = [
    (TensorProto.BFLOAT16, ml_dtypes.bfloat16, [1.0, -2.5, 0.15625, 384.0, 0.0, -0.0, 7.0]),
    (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn, [1.0, -2.5, 0.15625, 384.0, 0.0, 448.0, -7.0]),
    (TensorProto.FLOAT8E4M3FNUZ, ml_dtypes.float8_e4m3fnuz, [1.0, -2.5, 0.15625, 224.0, 0.0, 3.0, -7.0]),
    (TensorProto.FLOAT8E5M2, ml_dtypes.float8_e5m2, [1.0, -2.5, 0.125, 384.0, 0.0, 57344.0, -7.0]),
    (TensorProto.FLOAT8E5M2FNUZ, ml_dtypes.float8_e5m2fnuz, [1.0, -2.5, 0.125, 384.0, 0.0, 3.0, -7.0]),
    (TensorProto.INT4, ml_dtypes.int4, [1, -2, 3, -8, 7, 0, -1]),
    (TensorProto.UINT4, ml_dtypes.uint4, [1, 2, 3, 15, 7, 0, 8]),
]
if hasattr(TensorProto, "INT2"):
    CASES += [(TensorProto.INT2, ml_dtypes.int2, [1, -2, 0, -1, 1, 0, -2]),
              (TensorProto.UINT2, ml_dtypes.uint2, [1, 2, 3, 0, 3, 0, 2])]


def cast_model(src, dst, shape=(7,), opset=21):
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=dst)], "cast",
        [helper.make_tensor_value_info("x", src, list(shape))], [helper.make_tensor_value_info("y", dst, list(shape))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def _opset(elem):
    return 25 if elem in (getattr(TensorProto, "INT2", -1), getattr(TensorProto, "UINT2", -1)) else 21


@pytest.mark.parametrize(("elem", "dtype", "values"), CASES, ids=[TensorProto.DataType.Name(c[0]) for c in CASES])
def test_ml_dtypes_input_is_fed_as_raw_bits(elem, dtype, values):
    x = np.array(values, np.float32).astype(dtype)
    (y,) = OnnxRuntimeBackend.prepare(cast_model(elem, TensorProto.FLOAT, opset=_opset(elem))).run([x])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array(values, np.float32))


@pytest.mark.parametrize(("elem", "dtype", "values"), CASES, ids=[TensorProto.DataType.Name(c[0]) for c in CASES])
def test_ml_dtypes_output_comes_back_as_its_type(elem, dtype, values):
    x = np.array(values, np.float32).reshape(1, 7)
    (y,) = OnnxRuntimeBackend.prepare(cast_model(TensorProto.FLOAT, elem, shape=(1, 7), opset=_opset(elem))).run([x])
    assert y.dtype == np.dtype(dtype) and y.shape == (1, 7)
    np.testing.assert_array_equal(y.astype(np.float32), x)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3,), (2, 3), (4, 1, 5)])
def test_sub_byte_round_trip_through_ortvalue_any_length(shape):
    rng = np.random.default_rng(0)
    for elem in (TensorProto.INT4, TensorProto.UINT4):
        _, dtype, bits = RAW_TYPES[f"tensor({TensorProto.DataType.Name(elem).lower()})"]
        low = -8 if elem == TensorProto.INT4 else 0
        x = np.asarray(rng.integers(low, low + 16, size=shape)).astype(dtype)
        value = to_ortvalue(x, elem, bits)
        assert value.shape() == list(shape) and value.data_type() == f"tensor({TensorProto.DataType.Name(elem).lower()})"
        assert value.tensor_size_in_bytes() == (x.size + 1) // 2
        back = from_ortvalue(value, np.dtype(dtype), bits)
        assert back.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(back.astype(np.int8), x.astype(np.int8))


def test_zero_d_inputs_keep_their_shape():
    model = cast_model(TensorProto.BFLOAT16, TensorProto.FLOAT, shape=())
    (y,) = OnnxRuntimeBackend.prepare(model).run([np.array(2.5, ml_dtypes.bfloat16)])
    assert y.shape == () and y == 2.5
    value = to_ortvalue(np.array(3.0, ml_dtypes.float8_e4m3fn), TensorProto.FLOAT8E4M3FN, 8)
    assert value.shape() == []


def test_bfloat16_in_and_out_with_an_ordinary_input_beside():
    # y = Concat(Cast<bfloat16>(a), b) with b bfloat16 too (ORT's CPU kernels do not add
    # bfloat16); out: bfloat16 and the float32 copy of it
    graph = helper.make_graph(
        [helper.make_node("Cast", ["a"], ["ab"], to=TensorProto.BFLOAT16),
         helper.make_node("Concat", ["ab", "b"], ["y"], axis=0),
         helper.make_node("Cast", ["y"], ["yf"], to=TensorProto.FLOAT)], "mixed",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 2]),
         helper.make_tensor_value_info("b", TensorProto.BFLOAT16, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [4, 2]),
         helper.make_tensor_value_info("yf", TensorProto.FLOAT, [4, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[0.5, -1], [2, 0.25]], np.float32).astype(ml_dtypes.bfloat16)
    rep = OnnxRuntimeBackend.prepare(model)
    y, yf = rep.run({"a": a, "b": b})
    assert y.dtype == np.dtype(ml_dtypes.bfloat16) and yf.dtype == np.float32
    np.testing.assert_array_equal(yf, np.concatenate([a, b.astype(np.float32)]))
    np.testing.assert_array_equal(y.astype(np.float32), yf)
    y2, yf2 = rep.run([a, b])  # the list path takes the same route
    np.testing.assert_array_equal(y2.astype(np.float32), yf)


def test_ordinary_models_keep_session_run():
    rep = OnnxRuntimeBackend.prepare(small_model())
    assert rep._run == rep.session.run  # the plain-numpy fast path is untouched
    assert not rep._raw_inputs and not rep._raw_outputs


def test_raw_type_table_matches_the_binding():
    sess = ort.InferenceSession(cast_model(TensorProto.FLOAT, TensorProto.FLOAT8E4M3FN).SerializeToString())
    assert sess.get_outputs()[0].type in RAW_TYPES
