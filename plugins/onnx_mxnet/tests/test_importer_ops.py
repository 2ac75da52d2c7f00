"""Importer `mxnet`: ops real Caffe2/CNTK-converted models need (Split, Sign, ReduceLogSumExp, asymmetric
AveragePool, ArgMax/ArgMin, CastLike, Resize), each imported, run by plain MXNet and compared with ONNX Runtime."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxhub.testing import assert_close, run_cli

from conftest import run_onnx


def _model(nodes, x_shape, y_shape, opset, inits=(), y_type=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", y_type, y_shape)], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(mxnet, tmp_path, model, what, seed=0):
    """Import with the CLI, run the files in plain MXNet (bound symbol and SymbolBlock), compare with ORT."""
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    out = tmp_path / "mx"
    r = run_cli("import", path, "--to", "mxnet", "-o", out)
    assert r.returncode == 0, r.stderr
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).normal(0, 3, shape).astype(np.float32)
    _, back = mxnet.call("plain_forward_any", {"symbol": str(next(out.glob("*-symbol.json"))),
                                           "params": str(next(out.glob("*.params"))), "input": "x"}, {"x": x})
    (want,) = run_onnx(model, {"x": x})
    assert_close(back["y"], want, what=what)
    assert_close(back["y_block"], want, what=what + " (SymbolBlock)")


def _split_model(opset, sizes, equal_inputs=False):
    """x [2, 9, 3] split on axis 1, the parts concatenated back in reverse order (one graph output)."""
    outs = [f"p{i}" for i in range(len(sizes))]
    inits, inputs, attrs = [], ["x"], {"axis": 1}
    if not equal_inputs:
        inits.append(numpy_helper.from_array(np.array(sizes, np.int64), "split"))
        inputs.append("split")
    elif opset >= 18:
        attrs["num_outputs"] = len(sizes)
    nodes = [helper.make_node("Split", inputs, outs, **attrs),
             helper.make_node("Concat", outs[::-1], ["y"], axis=1)]
    return _model(nodes, [2, 9, 3], [2, 9, 3], opset, inits)


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("opset,sizes,equal", [(13, [3, 3, 3], True), (13, [2, 3, 4], False), (17, [3, 3, 3], False),
                                               (18, [3, 3, 3], True), (18, [4, 4, 1], True), (21, [1, 8], False)])
def test_split(mxnet, tmp_path, opset, sizes, equal):
    _check(mxnet, tmp_path, _split_model(opset, sizes, equal), f"Split {sizes} at opset {opset}")


@pytest.mark.runtime("mxnet")
def test_split_attribute_form_at_opset_11(mxnet, tmp_path):
    """The attribute form (opset 2-12) is brought into the window by prepare_model."""
    nodes = [helper.make_node("Split", ["x"], ["a", "b"], axis=2, split=[1, 2]),
             helper.make_node("Concat", ["b", "a"], ["y"], axis=2)]
    _check(mxnet, tmp_path, _model(nodes, [2, 4, 3], [2, 4, 3], 11), "Split split=[1, 2] at opset 11")


@pytest.mark.runtime("mxnet")
def test_sign(mxnet, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sub", ["x", "r"], ["d"]),
             helper.make_node("Sign", ["d"], ["y"])]  # zeros (x>0) as well as -1
    _check(mxnet, tmp_path, _model(nodes, [2, 3, 4], [2, 3, 4], 17), "Sign")


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("opset,axes,keepdims", [(13, [1], 1), (17, [2, 3], 0), (18, [1, 3], 1), (21, [-1], 0)])
def test_reduce_log_sum_exp(mxnet, tmp_path, opset, axes, keepdims):
    shape = [2, 3, 4, 5]
    y_shape = [1 if i in [a % 4 for a in axes] else d for i, d in enumerate(shape)]
    if not keepdims:
        y_shape = [d for i, d in enumerate(shape) if i not in [a % 4 for a in axes]]
    scale = numpy_helper.from_array(np.array(40.0, np.float32), "scale")  # exp overflows without the shift
    if opset >= 18:
        red = helper.make_node("ReduceLogSumExp", ["big", "axes"], ["y"], keepdims=keepdims)
        inits = [scale, numpy_helper.from_array(np.array(axes, np.int64), "axes")]
    else:
        red = helper.make_node("ReduceLogSumExp", ["big"], ["y"], axes=axes, keepdims=keepdims)
        inits = [scale]
    model = _model([helper.make_node("Mul", ["x", "scale"], ["big"]), red], shape, y_shape, opset, inits)
    _check(mxnet, tmp_path, model, f"ReduceLogSumExp axes={axes} keepdims={keepdims}")


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("include", [0, 1])
@pytest.mark.parametrize("kernel,strides,pads", [([3, 3], [1, 1], [0, 1, 2, 1]), ([3, 2], [2, 2], [1, 0, 2, 1]),
                                                 ([2, 2], [2, 1], [1, 1, 0, 0])])
def test_average_pool_asymmetric_pads(mxnet, tmp_path, include, kernel, strides, pads):
    x_shape = [1, 2, 7, 6]
    y_spatial = [(d + pads[i] + pads[i + 2] - kernel[i]) // strides[i] + 1 for i, d in enumerate(x_shape[2:])]
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=kernel, strides=strides, pads=pads,
                            count_include_pad=include)
    _check(mxnet, tmp_path, _model([node], x_shape, [1, 2, *y_spatial], 17),
           f"AveragePool pads={pads} count_include_pad={include}")


def test_average_pool_asymmetric_ceil_mode_without_count_include_pad_is_refused():
    from onnxhub_mxnet.import_.importer import convert

    from onnxhub.errors import UnsupportedOperator

    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
                            ceil_mode=1)
    with pytest.raises(UnsupportedOperator, match="ceil_mode"):
        convert(_model([node], [1, 1, 6, 6], [1, 1, 3, 3], 17))


def test_split_and_log_sum_exp_write_expected_mxnet_ops():
    import json

    from onnxhub_mxnet.import_.importer import convert

    def ops(model):
        return [n["op"] for n in json.loads(convert(model)[0])["nodes"] if n["op"] != "null"]

    assert ops(_split_model(13, [3, 3, 3], True)) == ["SliceChannel", "Concat"]
    assert ops(_split_model(13, [2, 3, 4])) == ["slice_axis"] * 3 + ["Concat"]
    red = helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[1], keepdims=1)
    assert ops(_model([red], [2, 3], [2, 1], 17)) == ["max", "broadcast_sub", "exp", "sum", "log", "broadcast_add"]


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis,keepdims", [(1, 1), (-1, 0), (0, 0)])
def test_arg_max_min(mxnet, tmp_path, op, axis, keepdims):
    shape = [2, 3, 5]
    y_shape = list(shape)
    if keepdims:
        y_shape[axis] = 1
    else:
        del y_shape[axis]
    node = helper.make_node(op, ["x"], ["y"], axis=axis, keepdims=keepdims)
    _check(mxnet, tmp_path, _model([node], shape, y_shape, 17, y_type=TensorProto.INT64), f"{op} axis={axis}")


def test_arg_max_select_last_index_is_refused():
    from onnxhub_mxnet.import_.importer import convert

    from onnxhub.errors import UnsupportedOperator

    node = helper.make_node("ArgMax", ["x"], ["y"], axis=1, select_last_index=1)
    with pytest.raises(UnsupportedOperator, match="select_last_index"):
        convert(_model([node], [2, 3], [2, 1], 17, y_type=TensorProto.INT64))


@pytest.mark.runtime("mxnet")
def test_cast_like(mxnet, tmp_path):
    like = numpy_helper.from_array(np.array([0], np.int32), "like")
    nodes = [helper.make_node("CastLike", ["x", "like"], ["i"]), helper.make_node("CastLike", ["i", "x"], ["y"])]
    _check(mxnet, tmp_path, _model(nodes, [2, 3, 4], [2, 3, 4], 17, [like]), "CastLike int32 and back")


def _resize_model(opset, factor, by_sizes, **attrs):
    shape = [1, 2, 3, 4]
    out = [1, 2, 3 * factor, 4 * factor]
    roi = numpy_helper.from_array(np.array([], np.float32), "roi")
    if by_sizes:
        inits, inputs = [roi, numpy_helper.from_array(np.array(out, np.int64), "sizes")], ["x", "roi", "", "sizes"]
    else:
        inits = [roi, numpy_helper.from_array(np.array([1, 1, factor, factor], np.float32), "scales")]
        inputs = ["x", "roi", "scales"]
    return _model([helper.make_node("Resize", inputs, ["y"], **attrs)], shape, out, opset, inits)


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("opset,factor,by_sizes,attrs", [
    (13, 2, False, {"mode": "nearest"}),
    (18, 3, True, {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                   "nearest_mode": "round_prefer_ceil"}),
    (13, 2, True, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
    (11, 4, False, {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn",
                    "nearest_mode": "floor"})])
def test_resize_nearest_integer_upsampling(mxnet, tmp_path, opset, factor, by_sizes, attrs):
    _check(mxnet, tmp_path, _resize_model(opset, factor, by_sizes, **attrs), f"Resize x{factor} {attrs}")


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("opset,factor,by_sizes,coord", [(13, 2, False, "half_pixel"), (18, 3, True, "align_corners"),
                                                         (13, 2, True, "pytorch_half_pixel")])
def test_resize_linear(mxnet, tmp_path, opset, factor, by_sizes, coord):
    model = _resize_model(opset, factor, by_sizes, mode="linear", coordinate_transformation_mode=coord)
    _check(mxnet, tmp_path, model, f"Resize linear x{factor} {coord}")


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("coord", ["half_pixel", "align_corners"])
def test_resize_linear_to_other_sizes(mxnet, tmp_path, coord):
    """Down on H, up on W, by non-integer ratios."""
    roi = numpy_helper.from_array(np.array([], np.float32), "roi")
    sizes = numpy_helper.from_array(np.array([1, 2, 4, 11], np.int64), "sizes")
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode=coord)
    _check(mxnet, tmp_path, _model([node], [1, 2, 7, 5], [1, 2, 4, 11], 17, [roi, sizes]), f"Resize linear {coord}")


@pytest.mark.parametrize("attrs", [{"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
                                   {"mode": "cubic"}, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"},
                                   {"mode": "nearest", "coordinate_transformation_mode": "align_corners"}])
def test_resize_without_exact_mxnet_equivalent_is_refused(attrs):
    from onnxhub_mxnet.import_.importer import convert

    from onnxhub.errors import UnsupportedOperator

    with pytest.raises(UnsupportedOperator, match="no exact equivalent"):
        convert(_resize_model(13, 2, False, **attrs))
