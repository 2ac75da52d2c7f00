"""Element-wise operators: activations, math, arithmetic with CNTK broadcasting, comparisons."""

from __future__ import annotations

from ..convert import TABLE, Tensor

_UNARY = {"Negate": "Neg", "Sigmoid": "Sigmoid", "StableSigmoid": "Sigmoid", "Tanh": "Tanh", "ReLU": "Relu",
          "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Floor": "Floor", "Abs": "Abs", "Reciprocal": "Reciprocal",
          "ELU": "Elu", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan",
          "Sinh": "Sinh", "Cosh": "Cosh", "Asinh": "Asinh", "Atanh": "Atanh"}
_BINARY = {"Plus": "Add", "Minus": "Sub", "ElementTimes": "Mul", "Pow": "Pow"}
_COMPARE = {"Equal": ("Equal", False), "NotEqual": ("Equal", True), "Less": ("Less", False),
            "LessEqual": ("LessOrEqual", False), "Greater": ("Greater", False),
            "GreaterEqual": ("GreaterOrEqual", False)}


def _unary(onnx_op):
    def convert(ctx, fn, inputs):
        (x,) = inputs[:1]
        return [ctx.like(x, ctx.one(onnx_op, [x.name]))]

    convert.__doc__ = f"-> {onnx_op}"
    return convert


def _binary(onnx_op):
    def convert(ctx, fn, inputs):
        names, dyn, shape = ctx.align(*inputs[:2])
        return [Tensor(ctx.one(onnx_op, names), dyn, shape)]

    convert.__doc__ = f"-> {onnx_op} (CNTK broadcasting)"
    return convert


def _compare(onnx_op, negate):
    def convert(ctx, fn, inputs):
        names, dyn, shape = ctx.align(*inputs[:2])
        out = ctx.one(onnx_op, names)
        if negate:
            out = ctx.one("Not", [out])
        # CNTK comparisons yield 0/1 in the operands' float type.
        return [Tensor(ctx.cast_like(out, inputs[0].name), dyn, shape)]

    convert.__doc__ = f"-> {onnx_op}{' + Not' if negate else ''}, cast back to float"
    return convert


for _op, _onnx in _UNARY.items():
    TABLE.add(_op, _unary(_onnx))
for _op, _onnx in _BINARY.items():
    TABLE.add(_op, _binary(_onnx))
for _op, (_onnx, _negate) in _COMPARE.items():
    TABLE.add(_op, _compare(_onnx, _negate))


@TABLE.register("Clip")
def clip(ctx, fn, inputs):
    """-> Clip with the constant bounds"""
    x, lo, hi = inputs
    return [ctx.like(x, ctx.clip(x.name, ctx.scalar_value(lo), ctx.scalar_value(hi)))]


@TABLE.register("Dropout", "StopGradient", "Pass", "NoOp")
def identity(ctx, fn, inputs):
    """inference: the input itself"""
    return [inputs[0]]


@TABLE.register("LogPlus")
def log_plus(ctx, fn, inputs):
    """log(exp(a) + exp(b)), computed as max + log(1 + exp(-|a - b|)) so it cannot overflow"""
    (a, b), dyn, shape = ctx.align(*inputs[:2])
    big = ctx.one("Max", [a, b])
    small = ctx.one("Exp", [ctx.one("Neg", [ctx.one("Abs", [ctx.one("Sub", [a, b])])])])
    return [Tensor(ctx.one("Add", [big, ctx.one("Log", [ctx.one("Add", [small, ctx.scalar_like(1.0, a)])])]),
                   dyn, shape)]


@TABLE.register("Select")
def select(ctx, fn, inputs):
    """-> Where(condition != 0, then, else)"""
    names, dyn, shape = ctx.align(*inputs)
    cond = ctx.one("Not", [ctx.one("Equal", [names[0], ctx.scalar_like(0.0, names[0])])])
    return [Tensor(ctx.one("Where", [cond] + names[1:]), dyn, shape)]


