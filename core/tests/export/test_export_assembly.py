"""The exporter kit's shared path: GraphBuilder.finish (model + streamed weights), the
Exporter base (export on top of export_streaming, the opset window), check_supported,
parse_shapes, and the streamed file onnxhub writes from them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator

from onnxhub.errors import UnsupportedOperator, UsageError
from onnxhub.export import Exporter, GraphBuilder, check_supported, parse_shapes, with_initializers
from onnxhub.modelio import check_exported, save_streaming
from onnxhub.optable import OpTable

W = np.arange(4 * 300, dtype=np.float32).reshape(4, 300) / 1000  # big enough to be described by type only


def dense(opset=17):
    """y = relu(x @ W + b) with a dynamic batch, an unused input and an unused constant."""
    g = GraphBuilder(opset, where="the toy exporter")
    x = g.add_input("x", TensorProto.FLOAT, ["batch", 4])
    g.add_input("label", TensorProto.FLOAT, ["batch"])
    w, b = g.add_param("w", W), g.add_param("b", np.zeros(300, np.float32))
    g.const(np.ones(3, np.float32), name="unused")
    g.at("FullyConnected", "fc0")
    y = g.one("Relu", [g.one("Add", [g.one("MatMul", [x, w]), b])])
    g.at(None, None)
    return g, y


def test_finish_streams_weights_and_types_outputs():
    g, y = dense()
    model, weights = g.finish([y], "toy", producer="toy-exporter")
    assert not model.graph.initializer  # the weights travel beside the model
    assert [n for n, _ in weights] == ["w", "b"]  # graph order, unused constant dropped
    assert weights[0][1] is W  # not copied
    assert [i.name for i in model.graph.input] == ["x"]  # the unused label is dropped
    (out,) = model.graph.output
    dims = out.type.tensor_type.shape.dim
    assert out.type.tensor_type.elem_type == TensorProto.FLOAT
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 300
    assert model.producer_name == "toy-exporter" and model.opset_import[0].version == 17
    assert model.ir_version == 8  # the lowest that opset 17 needs
    assert {n.name for n in model.graph.node} == {"fc0/MatMul", "fc0/Add", "fc0/Relu"}
    check_exported(model, weights)


def test_streamed_file_equals_the_full_model(tmp_path):
    g, y = dense(13)
    model, weights = g.finish([y])
    full = with_initializers(onnx.ModelProto.FromString(model.SerializeToString()), weights)
    onnx.checker.check_model(full, full_check=True)
    path = save_streaming(model, weights, tmp_path / "m.onnx")
    written = onnx.load(str(path))
    onnx.checker.check_model(written, full_check=True)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (a,) = ReferenceEvaluator(written).run(None, {"x": x})
    (b,) = ReferenceEvaluator(full).run(None, {"x": x})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, np.maximum(x @ W, 0), rtol=1e-5, atol=1e-6)


def test_output_of_unknown_rank_asks_for_input_shapes():
    g = GraphBuilder(17)
    g.inputs.append(onnx.helper.make_tensor_value_info("x", TensorProto.FLOAT, None))  # no shape at all
    y = g.one("Relu", ["x"])
    with pytest.raises(UsageError, match="cannot infer the rank of output .*--input-shape"):
        g.finish([y])


def test_shapes_names_and_domains():
    g = GraphBuilder(17)
    x = g.add_input("x", TensorProto.FLOAT, ["n", 3, 1])
    w = g.add_param("w", W)
    assert g.shape_of(x) == [None, 3, 1] and g.shape_of(w) == [4, 300]
    y = g.squeeze(x, [2])
    assert g.shape_of(y) == [None, 3] and g.rank_of(y) == 2
    typed, small = g.inference_view()
    assert [t.name for t in typed] == ["w"] and all(t.name != "w" for t in small)  # weights: type only
    assert g.fresh("a") == "a" and g.fresh("a") == "a_1" and g.fresh("x") == "x_1"
    with pytest.raises(ValueError, match="use_domain"):
        g.make("Gelu", [x], domain="com.microsoft")
    g.use_domain("com.microsoft", 1)
    g.make("Gelu", [x], domain="com.microsoft")
    model, _ = g.finish([y])
    assert {(o.domain, o.version) for o in model.opset_import} == {("", 17), ("com.microsoft", 1)}


def test_rank_of_unknown_is_unsupported_naming_the_node():
    g = GraphBuilder(17, where="the toy exporter")
    g.inputs.append(onnx.helper.make_tensor_value_info("x", TensorProto.FLOAT, None))
    g.at("SwapAxis", "swap0")
    with pytest.raises(UnsupportedOperator, match=r"SwapAxis \(.*rank.*\) at opset 17 \(node 'swap0'\) in the toy"):
        g.rank_of("x")


class Toy(Exporter):
    where = "the toy exporter"
    min_opset, max_opset = 13, 18

    def build(self, files, opset, scale=1.0, **options):
        self.check_options(options)
        g, y = dense(opset)
        return g.finish([g.one("Mul", [y, g.scalar_like(scale, y)])], "toy")


def test_exporter_export_is_export_streaming_plus_weights():
    model, weights = Toy().export_streaming(["a.toy"], 15, scale=2.0)
    full = Toy().export(["a.toy"], opset=15, scale=2.0)
    assert [t.name for t in full.graph.initializer] == [n for n, _ in weights]
    assert full.graph.node == model.graph.node
    onnx.checker.check_model(full, full_check=True)


@pytest.mark.parametrize("opset", [12, 19])
def test_opset_window(opset):
    with pytest.raises(UsageError, match=f"the toy exporter writes opsets 13 to 18, not {opset}"):
        Toy().export(["a.toy"], opset=opset)


def test_unknown_options_are_named():
    with pytest.raises(UsageError, match="unknown option.*colour, size"):
        Toy().export_streaming(["a.toy"], 17, size=1, colour=2)


def test_check_supported_names_every_gap_once():
    table = OpTable("the toy exporter", domain="toy")
    table.register("Dense")(lambda *a: None)
    table.register("Fancy", since=18)(lambda *a: None)
    nodes = [("Dense", "d0"), ("Weird", "w0"), ("Fancy", "f0"), ("Weird", "w1"), ("Odd", "o0")]
    check_supported(table, [n for n in nodes if n[0] == "Dense"], 17)
    with pytest.raises(UnsupportedOperator) as err:
        check_supported(table, nodes, 17)
    text = str(err.value)
    assert "Fancy (node 'f0'), Odd (node 'o0'), Weird (node 'w0')" in text and "at opset 17" in text
    assert "w1" not in text and "Dense" not in text
    check_supported(table, [n for n in nodes if n[0] in ("Dense", "Fancy")], 18)


def test_parse_shapes():
    assert parse_shapes(["data=1,3,224,224", "mask=2x5"]) == {"data": [1, 3, 224, 224], "mask": [2, 5]}
    assert parse_shapes({"data": (1, 3)}) == {"data": [1, 3]}
    assert parse_shapes(None) == {}
    for bad in ("data", "=1,2", "data=", "data=a,b"):
        with pytest.raises(UsageError, match="NAME=1,3,224,224"):
            parse_shapes([bad])


def _gemm_model(x_dims):
    """x @ W for a [4, 300] W, weights in the model."""
    g = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "g",
                               [onnx.helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)],
                               [onnx.helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])],
                               [onnx.numpy_helper.from_array(W, "w")])
    return onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)])


@pytest.mark.parametrize("streamed", [False, True])
def test_check_exported_refuses_shapes_the_weights_contradict(streamed):
    from onnxhub.errors import InvalidModel

    for dims, ok in (([2, 4], True), (["n", 4], True), ([2, 5], False)):
        model = _gemm_model(dims)
        weights = None
        if streamed:
            weights = [("w", W)]
            del model.graph.initializer[:]
        if ok:
            check_exported(model, weights, input_shapes={"x": dims})
            continue
        with pytest.raises(InvalidModel, match=r"exported model is inconsistent: .*MatMul.*Incompatible dimensions"
                                               r".*\(do the --input-shape dims fit the weights\?\)"):
            check_exported(model, weights, input_shapes={"x": dims})


def test_check_exported_refuses_input_shape_names_that_are_no_input():
    with pytest.raises(UsageError, match=r"--input-shape names nosuch, w, which the model has no input of "
                                         r"\(its inputs: x\)"):
        check_exported(_gemm_model([2, 4]), input_shapes={"x": [2, 4], "nosuch": [1], "w": [4, 300]})


def test_with_initializers_keeps_a_scalar_weight_0_d():
    # np.ascontiguousarray turned a 0-d weight into [1]
    g = onnx.helper.make_graph([onnx.helper.make_node("Mul", ["x", "k"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                               [onnx.helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = with_initializers(onnx.helper.make_model(g), [("k", np.array(2.5, np.float32))])
    assert list(model.graph.initializer[0].dims) == []


def test_check_exported_takes_the_clis_list_form_of_input_shapes():
    # export_model(input_shapes=["data=1,3,224,224"]) was refused as naming "data=1,3,224,224"
    check_exported(_gemm_model([2, 4]), input_shapes=["x=2,4"])
    with pytest.raises(UsageError, match=r"--input-shape names nosuch,"):
        check_exported(_gemm_model([2, 4]), input_shapes=["x=2,4", "nosuch=1"])
