"""Element-wise and broadcast arithmetic, their ``_scalar`` forms, comparisons, math."""

from __future__ import annotations

import numpy as np

from ..convert import TABLE, attrs

BINARY = {
    "Add": ("elemwise_add", "_plus", "_Plus", "broadcast_add", "broadcast_plus", "_add"),
    "Sub": ("elemwise_sub", "_minus", "_Minus", "broadcast_sub", "broadcast_minus", "_sub"),
    "Mul": ("elemwise_mul", "_mul", "_Mul", "broadcast_mul"),
    "Div": ("elemwise_div", "_div", "_Div", "broadcast_div"),
    "Pow": ("_power", "_Power", "broadcast_power"),
    "Max": ("_maximum", "_Maximum", "broadcast_maximum"),
    "Min": ("_minimum", "_Minimum", "broadcast_minimum"),
    "Mod": ("_mod", "broadcast_mod"),
}
COMPARE = {"broadcast_equal": "Equal", "_equal": "Equal", "broadcast_greater": "Greater", "_greater": "Greater",
           "broadcast_lesser": "Less", "_lesser": "Less", "broadcast_greater_equal": "GreaterOrEqual",
           "_greater_equal": "GreaterOrEqual", "broadcast_lesser_equal": "LessOrEqual",
           "_lesser_equal": "LessOrEqual", "broadcast_not_equal": "NotEqual", "_not_equal": "NotEqual"}
UNARY = {"abs": "Abs", "negative": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "floor": "Floor",
         "ceil": "Ceil", "round": "Round", "sin": "Sin", "cos": "Cos", "tan": "Tan", "arcsin": "Asin",
         "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "erf": "Erf", "reciprocal": "Reciprocal",
         "sign": "Sign", "_copy": "Identity", "identity": "Identity", "BlockGrad": "Identity", "stop_gradient": "Identity",
         "make_loss": "Identity", "softplus": "Softplus"}
_OP_OF = {mx: onnx_op for onnx_op, names in BINARY.items() for mx in names}


@TABLE.register(*_OP_OF)
def binary(ctx, node, inputs):
    op = _OP_OF[node.op]
    if op == "Mod":
        return [ctx.one("Mod", inputs[:2], fmod=1)]
    return [ctx.one(op, inputs[:2])]


@TABLE.register(*COMPARE)
def compare(ctx, node, inputs):
    # MXNet comparisons return 0/1 in the input's dtype, not booleans.
    flag = ctx.one(COMPARE[node.op], inputs[:2])
    return [ctx.cast_like(flag, inputs[0])]


@TABLE.register(*UNARY)
def unary(ctx, node, inputs):
    return [ctx.one(UNARY[node.op], inputs[:1])]


@TABLE.register("square", "rsqrt", "cbrt", "expm1", "log1p", "log2", "log10", "relu6", "hard_sigmoid")
def unary_composite(ctx, node, inputs):
    x, op = inputs[0], node.op
    if op == "square":
        return [ctx.one("Mul", [x, x])]
    if op == "rsqrt":
        return [ctx.one("Reciprocal", [ctx.one("Sqrt", [x])])]
    if op == "cbrt":
        return [ctx.one("Pow", [x, ctx.const(np.float32(1 / 3))])]
    if op == "expm1":
        return [ctx.one("Sub", [ctx.one("Exp", [x]), ctx.const(np.float32(1))])]
    if op == "log1p":
        return [ctx.one("Log", [ctx.one("Add", [x, ctx.const(np.float32(1))])])]
    if op in ("log2", "log10"):
        return [ctx.one("Div", [ctx.one("Log", [x]), ctx.const(np.float32(np.log(2 if op == "log2" else 10)))])]
    if op == "relu6":
        return [ctx.clip(x, 0.0, 6.0)]
    a = attrs(node)
    return [ctx.one("HardSigmoid", [x], alpha=a.float("alpha", 0.2), beta=a.float("beta", 0.5))]


SCALAR = {"_plus_scalar": ("Add", False), "_minus_scalar": ("Sub", False), "_rminus_scalar": ("Sub", True),
          "_mul_scalar": ("Mul", False), "_div_scalar": ("Div", False), "_rdiv_scalar": ("Div", True),
          "_power_scalar": ("Pow", False), "_rpower_scalar": ("Pow", True), "_maximum_scalar": ("Max", False),
          "_minimum_scalar": ("Min", False), "_mod_scalar": ("Mod", False), "_rmod_scalar": ("Mod", True),
          "_equal_scalar": ("Equal", False), "_not_equal_scalar": ("NotEqual", False),
          "_greater_scalar": ("Greater", False), "_greater_equal_scalar": ("GreaterOrEqual", False),
          "_lesser_scalar": ("Less", False), "_lesser_equal_scalar": ("LessOrEqual", False)}


@TABLE.register(*SCALAR)
def scalar(ctx, node, inputs):
    op, reverse = SCALAR[node.op]
    x = inputs[0]
    # The scalar takes the input's dtype (CastLike), as MXNet computes in the input's type.
    s = ctx.scalar_like(attrs(node).float("scalar", 0.0), x)
    args = [s, x] if reverse else [x, s]
    if op == "Mod":
        return [ctx.one("Mod", args, fmod=1)]
    y = ctx.one(op, args)
    if op in ("Equal", "NotEqual", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"):
        y = ctx.cast_like(y, x)
    return [y]


@TABLE.register("clip")
def clip(ctx, node, inputs):
    a = attrs(node)
    return [ctx.clip(inputs[0], a.float("a_min"), a.float("a_max"))]


@TABLE.register("add_n", "ElementWiseSum", "_sum")
def add_n(ctx, node, inputs):
    return [ctx.one("Sum", inputs)]


@TABLE.register("where")
def where(ctx, node, inputs):
    cond = ctx.one("Cast", [inputs[0]], to=9)  # MXNet conditions are numbers: non-zero is true
    return [ctx.one("Where", [cond, inputs[1], inputs[2]])]


@TABLE.register("Cast", "cast")
def cast(ctx, node, inputs):
    from onnx import helper

    dtype = attrs(node).str("dtype", "float32")
    try:
        to = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except TypeError:
        raise ctx.unsupported(f"dtype={dtype}") from None
    return [ctx.one("Cast", inputs[:1], to=to)]
