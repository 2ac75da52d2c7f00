"""Activations and element-wise arithmetic (legacy ``broadcast=1, axis=k`` included)."""

from __future__ import annotations

from ..convert import TABLE

_UNARY = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Softplus": "Softplus", "Abs": "Abs", "Exp": "Exp",
          "Log": "Log", "Sqrt": "Sqrt", "Negative": "Neg", "Reciprocal": "Reciprocal", "Sign": "Sign", "Not": "Not",
          "Ceil": "Ceil", "Floor": "Floor", "Cos": "Cos", "Sin": "Sin", "Erf": "Erf"}


def _unary(onnx_op):
    def unary(ctx, op, inputs):
        return [ctx.one(onnx_op, inputs[:1])]

    unary.__doc__ = onnx_op
    return unary


for _c2, _onnx in _UNARY.items():
    TABLE.add(_c2, _unary(_onnx))


@TABLE.register("Sqr")
def sqr(ctx, op, inputs):
    """Mul(x, x)"""
    return [ctx.one("Mul", [inputs[0], inputs[0]])]


@TABLE.register("Elu")
def elu(ctx, op, inputs):
    """Elu (alpha)"""
    return [ctx.one("Elu", inputs[:1], alpha=float(op.arg("alpha", 1.0)))]


@TABLE.register("LeakyRelu")
def leaky_relu(ctx, op, inputs):
    """LeakyRelu (alpha, default 0.01)"""
    return [ctx.one("LeakyRelu", inputs[:1], alpha=float(op.arg("alpha", 0.01)))]


@TABLE.register("Selu")
def selu(ctx, op, inputs):
    """Selu (alpha, scale)"""
    return [ctx.one("Selu", inputs[:1], alpha=float(op.arg("alpha", 1.6732632423543772)),
                    gamma=float(op.arg("scale", 1.0507009873554805)))]


@TABLE.register("PRelu")
def prelu(ctx, op, inputs):
    """PRelu (a [C] slope broadcast per channel)"""
    x, slope = inputs[:2]
    arr = ctx.value(slope)
    if arr is not None and arr.size == 1:
        return [ctx.one("PRelu", [x, ctx.const(arr.reshape(()), name=f"{slope}_scalar")])]
    return [ctx.one("PRelu", [x, ctx.per_channel(slope, ctx.rank_of(x))])]


@TABLE.register("Clip")
def clip(ctx, op, inputs):
    """Clip (min/max; ReLU6)"""
    lo, hi = op.arg("min"), op.arg("max")
    return [ctx.clip(inputs[0], None if lo is None else float(lo), None if hi is None else float(hi))]


@TABLE.register("Scale")
def scale(ctx, op, inputs):
    """Mul by the `scale` argument"""
    return [ctx.one("Mul", [inputs[0], ctx.scalar_like(float(op.arg("scale", 1.0)), inputs[0])])]


def _nary(onnx_op):
    def nary(ctx, op, inputs):
        if len(inputs) == 1:
            return [ctx.one("Identity", inputs)]
        return [ctx.one(onnx_op, inputs)]

    nary.__doc__ = onnx_op
    return nary


TABLE.add("Sum", _nary("Sum"))
TABLE.add("Max", _nary("Max"))
TABLE.add("Min", _nary("Min"))


def _legacy_operand(ctx, op, a: str, b: str) -> str:
    """B aligned for NumPy broadcasting: with ``broadcast=1, axis=k`` B's axes start at A's axis k."""
    if not int(op.arg("broadcast", 0)):
        return b  # Caffe2's new-style element-wise ops broadcast as NumPy does
    axis = int(op.arg("axis", -1))
    if axis == -1 and "axis_str" not in op.args:
        return b  # aligned at the end: NumPy's rule already
    rank_b = ctx.rank_hint(b)
    if rank_b is None:
        rank_b = ctx.rank_of(b)
    rank_a = ctx.rank_hint(a)
    if rank_a is None:
        rank_a = ctx.rank_of(a)
    axis = axis % rank_a
    trailing = rank_a - axis - rank_b
    if trailing < 0:
        raise ctx.unsupported(f"broadcast axis {axis} with a rank-{rank_b} operand on a rank-{rank_a} one")
    if trailing == 0:
        return b
    arr = ctx.value(b)
    if arr is not None:
        return ctx.const(arr.reshape(arr.shape + (1,) * trailing), name=f"{b}_aligned")
    return ctx.unsqueeze(b, list(range(rank_b, rank_b + trailing)))


def _binary(onnx_op):
    def binary(ctx, op, inputs):
        a, b = inputs[:2]
        return [ctx.one(onnx_op, [a, _legacy_operand(ctx, op, a, b)])]

    binary.__doc__ = f"{onnx_op} (legacy broadcast=1 with axis aligns B at A's axis)"
    return binary


for _name in ("Add", "Sub", "Mul", "Div"):
    TABLE.add(_name, _binary(_name))

