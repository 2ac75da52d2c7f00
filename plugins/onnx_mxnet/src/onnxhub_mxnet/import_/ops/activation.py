"""Activations: Relu, Sigmoid, Tanh, Softplus, Softsign, LeakyRelu, Elu, Selu, PRelu."""

from __future__ import annotations

from onnxhub.import_ import attributes

from . import TABLE

_ACT = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softrelu", "Softsign": "softsign"}


@TABLE.register(*_ACT)
def activation(g, node):
    """MXNet ``Activation``."""
    return g.op("Activation", [g.ref(node.input[0])], act_type=_ACT[node.op_type])


@TABLE.register("LeakyRelu")
def leaky_relu(g, node):
    return g.op("LeakyReLU", [g.ref(node.input[0])], act_type="leaky", slope=attributes(node).get("alpha", 0.01))


@TABLE.register("Elu")
def elu(g, node):
    return g.op("LeakyReLU", [g.ref(node.input[0])], act_type="elu", slope=attributes(node).get("alpha", 1.0))


@TABLE.register("Selu")
def selu(g, node):
    """MXNet's SELU has ONNX's default alpha and gamma only."""
    a = attributes(node)
    if abs(a.get("alpha", 1.67326) - 1.67326) > 1e-4 or abs(a.get("gamma", 1.0507) - 1.0507) > 1e-4:
        raise g.unsupported("alpha/gamma other than the defaults")
    return g.op("LeakyReLU", [g.ref(node.input[0])], act_type="selu")


@TABLE.register("PRelu")
def prelu(g, node):
    """A per-channel (or single) constant slope."""
    slope = g.constant(node.input[1], "a slope")
    if slope.size not in (1, (g.shape(node.input[0]) or [0, -1])[1]):
        raise g.unsupported("a slope that is not per channel")
    return g.op("LeakyReLU", [g.ref(node.input[0]), g.param(node.input[1], slope.reshape(-1))], act_type="prelu")
