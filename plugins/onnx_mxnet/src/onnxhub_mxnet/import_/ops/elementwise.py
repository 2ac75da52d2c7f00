"""Element-wise ops: broadcasting binaries, Sum, unaries, Clip, Cast, CastLike."""

from __future__ import annotations

import numpy as np
from onnx import helper

from onnxhub.import_ import attributes

from . import TABLE

_BINARY = {"Add": "broadcast_add", "Sub": "broadcast_sub", "Mul": "broadcast_mul", "Div": "broadcast_div",
           "Pow": "broadcast_power", "Max": "broadcast_maximum", "Min": "broadcast_minimum"}
_UNARY = {"Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Neg": "negative", "Floor": "floor",
          "Ceil": "ceil", "Reciprocal": "reciprocal", "Erf": "erf", "Sin": "sin", "Cos": "cos", "Sign": "sign",
          "Identity": "_copy"}


def _aligned(g, tensor, rank):
    """A constant reshaped to ``rank`` dims (ONNX broadcasts across ranks; MXNet's legacy ops do not)."""
    value = g.consts.get(tensor)
    if value is not None and value.ndim < rank:
        return g.param(tensor, value.reshape((1,) * (rank - value.ndim) + value.shape), name=f"{tensor}_r{rank}")
    r = g.rank(tensor)
    ref = g.ref(tensor)
    if r is not None and r < rank:
        return g.op("Reshape", [ref], name=f"{tensor}_r{rank}", shape=[1] * (rank - r) + [0] * r)
    return ref


@TABLE.register(*_BINARY)
def binary(g, node):
    """MXNet ``broadcast_*`` on inputs of known rank (Max/Min of one input: a copy)."""
    if len(node.input) == 1 and node.op_type in ("Max", "Min"):
        return g.op("_copy", [g.ref(node.input[0])])
    if len(node.input) != 2:
        raise g.unsupported(f"{len(node.input)} inputs")
    ranks = [g.rank(i) for i in node.input]
    if None in ranks:
        raise g.unsupported("inputs of unknown rank")
    return g.op(_BINARY[node.op_type], [_aligned(g, i, max(ranks)) for i in node.input])


@TABLE.register("Sum")
def sum_(g, node):
    """MXNet ``add_n`` over inputs of one rank."""
    if len({g.rank(i) for i in node.input}) != 1:
        raise g.unsupported("inputs of different ranks")
    return g.op("add_n", [g.ref(i) for i in node.input], num_args=len(node.input))


@TABLE.register(*_UNARY)
def unary(g, node):
    return g.op(_UNARY[node.op_type], [g.ref(node.input[0])])


@TABLE.register("Clip", since=11)
def clip(g, node):
    """Bounds as optional constant inputs."""
    lo, hi = g.input(node, 1), g.input(node, 2)
    return g.op("clip", [g.ref(node.input[0])], a_min=g.scalar(lo, "min") if lo else -3.4e38,
                a_max=g.scalar(hi, "max") if hi else 3.4e38)


@TABLE.register("Cast")
def cast(g, node):
    to = attributes(node)["to"]
    return g.op("Cast", [g.ref(node.input[0])], dtype=str(np.dtype(helper.tensor_dtype_to_np_dtype(to))))


@TABLE.register("CastLike", since=15)
def cast_like(g, node):
    """A Cast to the (inferred) element type of the second input."""
    to = g.types.get(node.input[1])
    if not to:
        raise g.unsupported("a target of unknown element type")
    return g.op("Cast", [g.ref(node.input[0])], dtype=str(np.dtype(helper.tensor_dtype_to_np_dtype(to))))
