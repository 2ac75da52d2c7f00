"""Element-wise ONNX operators: arithmetic, comparisons, logic, math functions, casts."""

import numpy as onp
from mxnet import np, npx

from .common import TABLE

_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Equal": np.equal,
           "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
           "GreaterOrEqual": np.greater_equal, "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or,
           "BitwiseXor": np.bitwise_xor}


def _binary(fn):
    return lambda inputs, attrs: [fn(inputs[0], inputs[1])]


for _name, _fn in _BINARY.items():
    TABLE.add(_name, _binary(_fn))


@TABLE.register("Div")
def div(inputs, attrs):
    a, b = inputs
    if onp.issubdtype(a.dtype, onp.integer):  # ONNX integer division truncates toward zero
        q = np.true_divide(a.astype("float64"), b.astype("float64"))
        return [np.trunc(q).astype(a.dtype)]
    return [np.true_divide(a, b).astype(a.dtype)]


@TABLE.register("Mod")
def mod(inputs, attrs):
    a, b = inputs
    if attrs.get("fmod", 0):  # C fmod: the remainder takes the dividend's sign
        quotient = np.trunc(np.true_divide(a.astype("float64"), b.astype("float64")))
        return [(a.astype("float64") - quotient * b.astype("float64")).astype(a.dtype)]
    return [np.mod(a, b)]


def _variadic(fn, mean=False):
    def run(inputs, attrs):
        out = inputs[0]
        for x in inputs[1:]:
            out = fn(out, x)
        if mean:
            out = out / len(inputs)
        return [out]
    return run


TABLE.add("Max", _variadic(np.maximum))
TABLE.add("Min", _variadic(np.minimum))
TABLE.add("Sum", _variadic(np.add))
TABLE.add("Mean", _variadic(np.add, mean=True))


_UNARY = {"Abs": np.abs, "Neg": np.negative, "Exp": np.exp, "Log": np.log, "Sqrt": np.sqrt, "Floor": np.floor,
          "Ceil": np.ceil, "Sin": np.sin, "Cos": np.cos, "Tan": np.tan, "Asin": np.arcsin, "Acos": np.arccos,
          "Atan": np.arctan, "Sinh": np.sinh, "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh,
          "Atanh": np.arctanh, "Tanh": np.tanh, "Sign": np.sign, "Reciprocal": np.reciprocal, "Round": np.round,
          "Not": np.logical_not, "IsNaN": np.isnan, "BitwiseNot": np.bitwise_not, "Identity": lambda x: x,
          "Sigmoid": npx.sigmoid, "Relu": npx.relu, "Erf": lambda x: npx.erf(x)}


def _unary(fn):
    return lambda inputs, attrs: [fn(inputs[0])]


for _name, _fn in _UNARY.items():
    TABLE.add(_name, _unary(_fn))


# MXNet 1.9's numpy namespace has no logical_and/or/xor and its bitwise ops refuse booleans:
# compute on 0/1 integers with MXNet's arithmetic instead.
TABLE.add("And", lambda i, a: [(i[0].astype("int8") * i[1].astype("int8")).astype("bool")])
TABLE.add("Or", lambda i, a: [(i[0].astype("int8") + i[1].astype("int8")) > 0])
TABLE.add("Xor", lambda i, a: [np.not_equal(i[0], i[1])])


@TABLE.register("IsInf")
def isinf(inputs, attrs):
    x = inputs[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if pos and neg:
        return [np.isinf(x)]
    if pos:
        return [np.isposinf(x)]
    if neg:
        return [np.isneginf(x)]
    return [np.zeros(x.shape, dtype="bool")]


@TABLE.register("Clip")
def clip(inputs, attrs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("min")
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("max")
    out = x
    if lo is not None:
        out = np.maximum(out, lo)
    if hi is not None:
        out = np.minimum(out, hi)
    return [out.astype(x.dtype)]


@TABLE.register("Where")
def where(inputs, attrs):
    c, a, b = inputs
    return [np.where(c, a, b)]


def narrow(x, attrs):
    """A value computed in a wider type made a value of the declared narrow type ``attrs["narrow"]``.

    Integers wrap into the narrow range (two's complement, as a cast does); floats are
    clipped to the narrow type's finite range when ``saturate`` (ONNX's default); their
    rounding to the narrow precision happens where the value leaves the runtime.
    """
    lo, hi = attrs["narrow_min"], attrs["narrow_max"]
    if attrs.get("narrow_int"):
        if attrs["narrow"] == "uint64":
            return x  # held as int64: the same bits
        span = hi - lo + 1
        return np.mod(x - lo, span) + lo if lo else np.mod(x, span)
    if attrs["narrow"].startswith("float8") and attrs.get("saturate", 1):  # ONNX saturates float8 only
        return np.clip(x, lo, hi)
    return x


@TABLE.register("Cast")
def cast(inputs, attrs):
    x = inputs[0]
    if "narrow" in attrs and attrs.get("narrow_int") and onp.issubdtype(x.dtype, onp.floating):
        x = x.astype("float64")  # MXNet's trunc/round refuse float16
        if attrs["narrow"] in ("int4", "uint4", "int2", "uint2"):  # ONNX rounds to nearest even there
            x = np.round(x)
        else:
            x = np.trunc(x)
        y = narrow(x.astype("float64"), attrs).astype(attrs["to_dtype"])
        return [y]
    y = x.astype(attrs["to_dtype"])
    return [narrow(y, attrs) if "narrow" in attrs else y]


@TABLE.register("CastLike")
def cast_like(inputs, attrs):
    if "narrow" in attrs:  # ``like`` has a type MXNet lacks (the hub named it): as Cast
        return cast([inputs[0]], dict(attrs, to_dtype=str(inputs[1].dtype)))
    return [inputs[0].astype(inputs[1].dtype)]


@TABLE.register("BitShift")
def bit_shift(inputs, attrs):
    """x << s as x * 2**s (int64, cast back: wraps as a shift does), x >> s as floor(x / 2**s)
    (float64: arithmetic for signed x). A shift count that is negative or at least the width
    gives the full-width result: 0, or -1 for a right shift of a negative value."""
    x, s = inputs
    count = s.astype("float64")
    out_of_range = (count < 0).astype("int8") + (count > 62).astype("int8") > 0
    count = np.where(out_of_range, np.full(count.shape, 63.0, dtype="float64"), count)
    if attrs.get("direction") == "LEFT":
        factor = np.power(np.full(count.shape, 2, dtype="int64"), np.minimum(count, 62.0).astype("int64"))
        y = x.astype("int64") * factor
        return [np.where(out_of_range, np.zeros(y.shape, dtype="int64"), y).astype(x.dtype)]
    factor = np.power(np.full(count.shape, 2.0, dtype="float64"), count)
    return [np.floor(np.true_divide(x.astype("float64"), factor)).astype(x.dtype)]


@TABLE.register("Dropout")
def dropout(inputs, attrs):
    x = inputs[0]
    outs = [x]
    if attrs["_outputs"] > 1:
        outs.append(np.ones(x.shape, dtype="bool"))
    return outs
