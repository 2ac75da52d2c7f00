"""ImportContext: a toy importer (ONNX -> a list of layer dicts) on the kit, as a plugin would write one."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxhub.errors import UnsupportedOperator
from onnxhub.import_ import ImportContext, attributes, prepare_model
from onnxhub.optable import OpTable

TABLE = OpTable("the toy importer")


@TABLE.register("Relu")
def relu(g, node):
    return g.layer("relu", node)


@TABLE.register("ReduceMean", until=17)
def reduce_mean_13(g, node):
    """Axes as an attribute."""
    return g.layer("mean", node, axes=attributes(node).get("axes"))


@TABLE.register("ReduceMean", since=18)
def reduce_mean_18(g, node):
    """Axes as an optional input."""
    return g.layer("mean", node, axes=g.input_ints(node, 1, "axes"))


@TABLE.register("Reshape")
def reshape(g, node):
    return g.layer("reshape", node, shape=g.ints(node.input[1], "a shape"))


@TABLE.register("Transpose")
def transpose(g, node):
    return g.layer("transpose", node, perm=list(attributes(node)["perm"]))  # KeyError without perm


class Toy(ImportContext):
    def __init__(self, model):
        super().__init__(model, TABLE)
        self.layers, self.bound = [], []

    def layer(self, kind, node, **attrs):
        self.layers.append({"kind": kind, "name": self.fresh(node.name or kind), "inputs": list(node.input), **attrs})
        return kind

    def bind(self, node, result):
        self.bound.append((node.output[0], result))


def toy(nodes, opset=17, inits=(), inputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])]
    output = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", inputs, [output], list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    g = Toy(prepare_model(model, min_opset=13, max_opset=21, where=TABLE.where))
    g.run()
    return g


def test_each_node_goes_to_the_registration_for_the_models_opset():
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    old = toy([helper.make_node("ReduceMean", ["x"], ["y"], axes=[2])], opset=17)
    new = toy([helper.make_node("ReduceMean", ["x", "axes"], ["y"])], opset=18, inits=[axes])
    assert old.layers[0]["axes"] == [2] and new.layers[0]["axes"] == [1]
    assert old.bound == [("y", "mean")] and old.node is None


def test_every_unsupported_op_is_named_in_one_error():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Round", ["a"], ["b"], name="first_gap"),
             helper.make_node("Sign", ["b"], ["c"]), helper.make_node("Round", ["c"], ["y"])]
    with pytest.raises(UnsupportedOperator) as err:
        toy(nodes)
    assert err.value.op_type == "Round, Sign" and err.value.node == "first_gap" and err.value.opset == 17
    assert "in the toy importer" in str(err.value)


def test_a_form_the_function_does_not_express_is_unsupported_not_a_crash():
    """A computed shape (g.ints refuses) and a missing attribute (KeyError) name the node and the part."""
    shape_in = helper.make_tensor_value_info("s", TensorProto.INT64, [2])
    with pytest.raises(UnsupportedOperator, match=r"Reshape \(a shape that is not constant\).*'r'"):
        toy([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
            inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]), shape_in])
    with pytest.raises(UnsupportedOperator, match=r"Transpose \(KeyError: 'perm'\)"):
        toy([helper.make_node("Transpose", ["x"], ["y"])])


def test_context_facts_and_fresh_names():
    g = toy([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["y"])])
    assert g.inputs == ["x"] and g.opset == 17 and g.rank("a") == 3 and g.shape("y") == [2, 3, 4]
    assert [layer["name"] for layer in g.layers] == ["relu", "relu_1"]
    assert g.consumed == {"x", "a", "y"}
    relu_node = g.model.graph.node[0]
    assert g.input(relu_node, 0) == "x" and g.input(relu_node, 1) is None and not g.output_used(relu_node, 1)
