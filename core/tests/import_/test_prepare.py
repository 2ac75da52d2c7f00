"""The importer kit's preparation: opset window, domains, input shapes, folding; numerics unchanged."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from onnxhub.errors import UnsupportedModel, UsageError
from onnxhub.import_ import (
    attributes,
    constants,
    conv_geometry,
    model_opset,
    prepare_model,
    shape_table,
)

F = TensorProto.FLOAT


def make(nodes, inputs, outputs, inits=(), opset=17, **kw):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def run(model, feeds):
    return ReferenceEvaluator(model).run(None, feeds)


def run_ort(model, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


X = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)


# -- the opset window ----------------------------------------------------------------
def test_old_opset_is_converted_up_into_the_window():
    """Opset 9: Unsqueeze/ReduceSum take axes as attributes; at 13 as inputs."""
    model = make([helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]),
                  helper.make_node("ReduceSum", ["u"], ["s"], axes=[2], keepdims=0),
                  helper.make_node("Relu", ["s"], ["y"])],
                 [vi("x", [2, 3, 4])], [vi("y", None)], opset=9, ir_version=7)
    prepared = prepare_model(model, min_opset=13, max_opset=21, where="the test importer")
    assert model_opset(prepared) == 13 and model_opset(model) == 9
    ops = {n.op_type: n for n in prepared.graph.node}
    assert len(ops["Unsqueeze"].input) == 2 and len(ops["ReduceSum"].input) == 2
    same(run(prepared, {"x": X}), run(model, {"x": X}))


def test_new_opset_is_converted_down_into_the_window():
    """Opset 21 ReduceMean takes axes as an input; at 17 as an attribute."""
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    model = make([helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)],
                 [vi("x", [2, 3, 4])], [vi("y", None)], [axes], opset=21)
    prepared = prepare_model(model, min_opset=13, max_opset=17)
    assert model_opset(prepared) == 17
    (node,) = prepared.graph.node
    assert list(node.input) == ["x"] and attributes(node)["axes"] == [1]
    same(run(prepared, {"x": X}), run(model, {"x": X}))


def test_a_model_inside_the_window_keeps_its_opset():
    model = make([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])], opset=15)
    assert model_opset(prepare_model(model, min_opset=13, max_opset=21)) == 15


def test_an_op_without_a_form_at_the_window_is_refused_clearly():
    model = make([helper.make_node("Gelu", ["x"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 3])], opset=20)
    with pytest.raises(UnsupportedModel) as err:
        prepare_model(model, min_opset=13, max_opset=17, where="the test importer")
    text = str(err.value)
    assert "the test importer takes opsets 13-17" in text and "opset 20 to 17" in text and "Gelu" in text
    assert "\n" not in text and ".h:" not in text  # one line, no C++ file:line


def test_a_model_without_an_ai_onnx_opset_is_refused():
    graph = helper.make_graph([], "g", [vi("x", [1])], [vi("x", [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx.ml", 3)])
    with pytest.raises(UnsupportedModel, match="no ai.onnx opset"):
        prepare_model(model, min_opset=13, max_opset=21)


# -- operator domains ----------------------------------------------------------------
def _custom_domain_model():
    nodes = [helper.make_node("FusedGemm", ["x", "x"], ["h"], domain="com.microsoft"),
             helper.make_node("Gelu", ["h"], ["y"], domain="com.microsoft")]
    graph = helper.make_graph(nodes, "g", [vi("x", [2, 2])], [vi("y", [2, 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def test_operators_of_other_domains_are_refused_by_name():
    with pytest.raises(UnsupportedModel) as err:
        prepare_model(_custom_domain_model(), min_opset=13, max_opset=21, where="the test importer")
    text = str(err.value)
    assert "the test importer" in text and "'com.microsoft' (FusedGemm, Gelu)" in text


def test_an_importer_may_take_more_domains():
    prepared = prepare_model(_custom_domain_model(), min_opset=13, max_opset=21, fold=False,
                             domains=("", "com.microsoft"))
    assert [n.op_type for n in prepared.graph.node] == ["FusedGemm", "Gelu"]


def test_an_unused_domain_import_is_not_refused():
    model = make([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])])
    model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    prepare_model(model, min_opset=13, max_opset=21)


def test_model_local_functions_are_inlined_first():
    fn = helper.make_function("local", "Double", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    graph = helper.make_graph([helper.make_node("Double", ["x"], ["y"], domain="local")], "g",
                              [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])])
    model = helper.make_model(graph, functions=[fn],
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    prepared = prepare_model(model, min_opset=13, max_opset=21)
    assert [n.op_type for n in prepared.graph.node] == ["Add"]
    same(run(prepared, {"x": X}), [X + X])


# -- input shapes --------------------------------------------------------------------
def _dynamic_model():
    return make([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 3, "W"])], [vi("y", ["N", 3, "W"])])


def test_given_input_shapes_are_set_and_free_dims_become_one():
    model = _dynamic_model()
    assert shape_table(prepare_model(model, min_opset=13, max_opset=21, input_shapes={"x": (5, 3, 7)}))["y"] == [5, 3, 7]
    assert shape_table(prepare_model(model, min_opset=13, max_opset=21))["y"] == [1, 3, 1]
    assert shape_table(prepare_model(model, min_opset=13, max_opset=21, input_shapes=["x=2,3,4"]))["x"] == [2, 3, 4]
    assert shape_table(model)["x"] == [None, 3, None]  # the caller's model is untouched


def test_bad_input_shapes_are_usage_errors():
    model = _dynamic_model()
    with pytest.raises(UsageError, match="no input 'data'.*inputs: x"):
        prepare_model(model, min_opset=13, max_opset=21, input_shapes={"data": (1, 3, 4)})
    with pytest.raises(UsageError, match="rank 3, not 2"):
        prepare_model(model, min_opset=13, max_opset=21, input_shapes={"x": (1, 3)})


# -- folding -------------------------------------------------------------------------
def _shape_chain_model():
    """y = Reshape(x, [Shape(x)[0], -1]) via Shape -> Gather -> Unsqueeze -> Concat; x has a free batch dim."""
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axis0"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus_one")]
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "axis0"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["r"]),
             helper.make_node("Relu", ["r"], ["y"])]
    return make(nodes, [vi("x", ["N", 3, 4])], [vi("y", ["N", 12])], inits)


def test_a_shape_chain_folds_to_a_constant_reshape():
    model = _shape_chain_model()
    prepared = prepare_model(model, min_opset=13, max_opset=21, input_shapes={"x": [2, 3, 4]})
    assert [n.op_type for n in prepared.graph.node] == ["Reshape", "Relu"]
    consts = constants(prepared)
    assert sorted(consts) == ["target"]  # the chain's inputs are dropped with it
    assert consts["target"].tolist() == [2, -1] and consts["target"].dtype == np.int64
    assert shape_table(prepared)["y"] == [2, 12]
    onnx.checker.check_model(prepared)
    same(run_ort(prepared, {"x": X}), run_ort(model, {"x": X}))


def test_folding_can_be_left_out():
    prepared = prepare_model(_shape_chain_model(), min_opset=13, max_opset=21, fold=False)
    assert len(prepared.graph.node) == 6 and shape_table(prepared)["y"] == [1, 12]


def test_constant_nodes_and_cast_like_fold_with_their_onnx_types():
    nodes = [helper.make_node("Constant", [], ["half"], value_float=0.5),
             helper.make_node("Constant", [], ["ints"], value_ints=[2]),
             helper.make_node("CastLike", ["ints", "x"], ["two"]),
             helper.make_node("Mul", ["x", "half"], ["xh"]),
             helper.make_node("Add", ["xh", "two"], ["y"])]
    model = make(nodes, [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])])
    raw = constants(model)
    assert raw["half"].dtype == np.float32 and raw["ints"].dtype == np.int64
    prepared = prepare_model(model, min_opset=13, max_opset=21)
    assert [n.op_type for n in prepared.graph.node] == ["Mul", "Add"]
    consts = constants(prepared)
    assert consts["two"].dtype == np.float32 and consts["two"].tolist() == [2.0]
    same(run(prepared, {"x": X}), run(model, {"x": X}))


def test_activations_are_never_folded():
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    model = make([helper.make_node("MatMul", ["x", "w"], ["y"])], [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])], [w])
    prepared = prepare_model(model, min_opset=13, max_opset=21)
    assert [n.op_type for n in prepared.graph.node] == ["MatMul"] and "w" in constants(prepared)


# -- conv geometry -------------------------------------------------------------------
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_same_padding_resolves_to_the_pads_onnxruntime_uses(auto_pad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    w = numpy_helper.from_array(rng.standard_normal((3, 2, 3, 2)).astype(np.float32), "w")

    def conv(**attrs):
        return make([helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 3], **attrs)],
                    [vi("x", [1, 2, 8, 8])], [vi("y", None)], [w])

    geo = conv_geometry({"auto_pad": auto_pad, "strides": [2, 3]}, kernel=[3, 2], input_shape=[1, 2, 8, 8])
    assert geo.begin[0] + geo.end[0] == 1 and not geo.symmetric  # 8 -> 4 rows needs one pad: the odd one
    same(run_ort(conv(pads=geo.begin + geo.end), {"x": x}), run_ort(conv(auto_pad=auto_pad), {"x": x}))


def test_conv_geometry_refuses_what_it_cannot_resolve():
    with pytest.raises(ValueError, match="unknown spatial shape"):
        conv_geometry({"auto_pad": "SAME_UPPER"}, kernel=[3, 3], input_shape=[1, 2, None, 8])
    with pytest.raises(ValueError, match="transposed"):
        conv_geometry({"auto_pad": "SAME_UPPER"}, kernel=[3, 3], input_shape=[1, 2, 8, 8], transposed=True)
    geo = conv_geometry({"kernel_shape": [2, 2], "pads": [0, 1, 2, 3]})
    assert (geo.begin, geo.end, geo.strides, geo.group) == ([0, 1], [2, 3], [1, 1], 1)
