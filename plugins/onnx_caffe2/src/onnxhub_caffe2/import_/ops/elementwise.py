"""Element-wise ops and activations: Caffe2's binary ops broadcast as numpy does (``broadcast=0``)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from onnxhub.import_ import attributes

from . import TABLE

_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Equal": "EQ", "Less": "LT", "Greater": "GT",
           "LessOrEqual": "LE", "GreaterOrEqual": "GE", "And": "And", "Or": "Or", "Xor": "Xor"}


def _binary(op):
    def convert(g, node):
        return g.op(op, [g.blob(node.input[0]), g.blob(node.input[1])], [g.out(node)])
    return convert


for _name, _op in _BINARY.items():
    TABLE.add(_name, _binary(_op), since=7)

_UNARY = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt",
          "Abs": "Abs", "Neg": "Negative", "Floor": "Floor", "Ceil": "Ceil", "Reciprocal": "Reciprocal",
          "Erf": "Erf", "Softsign": "Softsign", "Softplus": "Softplus", "Not": "Not", "Sin": "Sin", "Cos": "Cos",
          "Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh",
          "Sign": "Sign"}


def _unary(op):
    return lambda g, node: g.op(op, [g.blob(node.input[0])], [g.out(node)])


for _name, _op in _UNARY.items():
    TABLE.add(_name, _unary(_op))


def _float_arg(g, node, key, default):
    return float(attributes(node).get(key, default))


@TABLE.register("LeakyRelu")
def leaky_relu(g, node):
    return g.op("LeakyRelu", [g.blob(node.input[0])], [g.out(node)], alpha=_float_arg(g, node, "alpha", 0.01))


@TABLE.register("Elu")
def elu(g, node):
    return g.op("Elu", [g.blob(node.input[0])], [g.out(node)], alpha=_float_arg(g, node, "alpha", 1.0))


@TABLE.register("Selu")
def selu(g, node):
    return g.op("Selu", [g.blob(node.input[0])], [g.out(node)],
                alpha=_float_arg(g, node, "alpha", 1.6732632423543772848170429916717),
                scale=_float_arg(g, node, "gamma", 1.0507009873554804934193349852946))


@TABLE.register("HardSigmoid")
def hard_sigmoid(g, node):
    return g.op("HardSigmoid", [g.blob(node.input[0])], [g.out(node)], alpha=_float_arg(g, node, "alpha", 0.2),
                beta=_float_arg(g, node, "beta", 0.5))


@TABLE.register("Gelu", since=20)
def gelu(g, node):
    tanh = attributes(node).get("approximate", "none") == "tanh"
    return g.op("Gelu", [g.blob(node.input[0])], [g.out(node)], fast_gelu=tanh)


@TABLE.register("PRelu")
def prelu(g, node):
    """max(x, 0) + slope * min(x, 0) with Relu, Sub, Mul and Add (ONNX broadcasts the slope numpy's way)."""
    x = g.blob(node.input[0])
    pos = g.op("Relu", [x])[0]
    neg = g.op("Sub", [x, pos])[0]
    scaled = g.op("Mul", [neg, g.blob(node.input[1])])[0]
    return g.op("Add", [pos, scaled], [g.out(node)])


@TABLE.register("Pow")
def pow_(g, node):
    """Caffe2's Pow takes a constant scalar exponent as an argument; a tensor one only of the same shape."""
    exp = g.consts.get(node.input[1])
    if exp is not None and exp.size == 1:
        return g.op("Pow", [g.blob(node.input[0])], [g.out(node)], exponent=float(exp.reshape(-1)[0]))
    if g.shape(node.input[0]) != g.shape(node.input[1]) or None in (g.shape(node.input[0]) or [None]):
        raise g.unsupported("an exponent tensor of another shape")
    return g.op("Pow", [g.blob(node.input[0]), g.blob(node.input[1])], [g.out(node)])


def _chain(op):
    """Variadic ops as a chain of broadcasting binary ops (Caffe2's Sum/Max/Min want equal shapes)."""
    def convert(g, node):
        blobs = [g.blob(t) for t in node.input]
        if len(blobs) == 1:
            return g.op("Copy", blobs, [g.out(node)])
        shapes = [g.shape(t) for t in node.input]
        if op == "Add" and all(s == shapes[0] and s is not None for s in shapes):
            return g.op("Sum", blobs, [g.out(node)])
        out = blobs[0]
        for i, b in enumerate(blobs[1:]):
            out = g.op(op, [out, b], [g.out(node)] if i == len(blobs) - 2 else 1)[0]
        return out
    return convert


TABLE.add("Sum", _chain("Add"))


def _minmax(cmp):
    """Max/Min by a comparison and Where on broadcast shapes (Caffe2's Max/Min are float-only)."""
    def convert(g, node):
        shape = g.shape(node.output[0])
        if not shape or None in shape:
            raise g.unsupported("inputs of unknown shape")
        out = None
        for t in node.input:
            b = _expanded(g, t, shape)
            if out is None:
                out = b
                continue
            out = g.op("Where", [g.op(cmp, [out, b])[0], out, b])[0]
        return g.op("Copy", [out], [g.out(node)])
    return convert


def _expanded(g, tensor, shape):
    if g.shape(tensor) == shape:
        return g.blob(tensor)
    return g.op("Expand", [g.blob(tensor), g.const(np.array(shape, np.int64), "shape")])[0]


TABLE.add("Max", _minmax("GT"))
TABLE.add("Min", _minmax("LT"))


@TABLE.register("Clip", since=11)
def clip(g, node):
    """Caffe2's Clip with constant bounds (float32)."""
    lo = g.input(node, 1)
    hi = g.input(node, 2)
    args = {}
    if lo:
        args["min"] = g.scalar(lo, "a min")
    if hi:
        args["max"] = g.scalar(hi, "a max")
    return g.op("Clip", [g.blob(node.input[0])], [g.out(node)], **args)


@TABLE.register("Where")
def where(g, node):
    shape = g.shape(node.output[0])
    if not shape or None in shape:
        raise g.unsupported("inputs of unknown shape")
    return g.op("Where", [_expanded(g, t, shape) for t in node.input], [g.out(node)])


# ONNX element type -> Caffe2 TensorProto.DataType (BYTE is refused by Caffe2's Cast: never used).
_CAST = {TensorProto.FLOAT: 1, TensorProto.INT32: 2, TensorProto.BOOL: 5, TensorProto.UINT8: 6,
         TensorProto.INT8: 7, TensorProto.UINT16: 8, TensorProto.INT16: 9, TensorProto.INT64: 10,
         TensorProto.DOUBLE: 13}


@TABLE.register("Cast")
def cast(g, node):
    to = attributes(node)["to"]
    if to not in _CAST:
        raise g.unsupported(f"a Cast to {TensorProto.DataType.Name(to).lower()}")
    return g.op("Cast", [g.blob(node.input[0])], [g.out(node)], to=_CAST[to])


@TABLE.register("Identity", "Dropout")
def identity(g, node):
    """Inference: the input itself (a Dropout mask output, if used, is refused)."""
    if node.op_type == "Dropout":
        training = g.input(node, 2)
        if training and g.consts.get(training) is not None and bool(g.consts[training].reshape(-1)[0]):
            raise g.unsupported("training mode")
        if g.output_used(node, 1):
            raise g.unsupported("the mask output")
    return g.blob(node.input[0])
