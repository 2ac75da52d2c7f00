"""Element-wise ONNX operators on Caffe2's kernels: arithmetic, comparisons, logic, math, casts.

Caffe2's binary arithmetic and comparison kernels broadcast as numpy does (``broadcast=0``);
they hold int32/int64/float32/float64 (logic: bool). Narrower integers are computed in int32
by Caffe2's Cast and cast back (C++ conversion wraps, as ONNX's types do).
"""

import numpy as np

from .common import TABLE, bshape, c1, cast

_WIDE = {"int8": "int32", "uint8": "int32", "int16": "int32", "uint16": "int32", "bool": "int32"}


def widened(x):
    return cast(x, _WIDE[x.dtype.name]) if x.dtype.name in _WIDE else x


def binary(op, a, b, **args):
    """Caffe2 ``op`` on a, b (numpy broadcasting), in a type its kernel holds, back in a's type."""
    shape = bshape(a, b)
    out = c1(op, [widened(a), widened(b)], **args).reshape(shape)
    return out if out.dtype == np.bool_ else cast(out, a.dtype)


def _binary(op):
    return lambda inputs, attrs: [binary(op, inputs[0], inputs[1])]


for _name, _op in {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Equal": "EQ", "Less": "LT",
                   "Greater": "GT", "LessOrEqual": "LE", "GreaterOrEqual": "GE", "BitwiseAnd": "BitwiseAnd",
                   "BitwiseOr": "BitwiseOr", "BitwiseXor": "BitwiseXor"}.items():
    TABLE.add(_name, _binary(_op))


def logic(op, a, b):
    return c1(op, [a, b]).reshape(bshape(a, b))


TABLE.add("And", lambda i, a: [logic("And", i[0], i[1])])
TABLE.add("Or", lambda i, a: [logic("Or", i[0], i[1])])
TABLE.add("Xor", lambda i, a: [logic("Xor", i[0], i[1])])
TABLE.add("Not", lambda i, a: [c1("Not", [i[0]]).reshape(i[0].shape)])


def expand(x, shape):
    """``x`` broadcast to ``shape`` by Caffe2's Expand."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return c1("Expand", [widened(x), np.array(shape, np.int64)]).reshape(shape).astype(x.dtype, copy=False) \
        if x.dtype.name not in _WIDE else cast(c1("Expand", [widened(x), np.array(shape, np.int64)]), x.dtype)


@TABLE.register("Pow")
def pow_(inputs, attrs):
    """Caffe2's Pow (float32 only) broadcasts the legacy way: both sides expanded and cast first;
    integer powers rounded back (exact below 2^24)."""
    a, b = inputs
    shape = bshape(a, b)
    base, exp = cast(expand(a, shape), "float32"), cast(expand(b, shape), "float32")
    out = c1("Pow", [base, exp]).reshape(shape)
    if np.issubdtype(a.dtype, np.integer):  # pow() of integers may land just below the integer
        out = c1("Floor", [c1("Add", [out, np.array([0.5], np.float32)])]).reshape(shape)
    return [cast(out, a.dtype)]


@TABLE.register("Mod")
def mod(inputs, attrs):
    """Integers: the remainder of Caffe2's truncating int64 Div, moved to the divisor's sign unless
    fmod; floats: a - trunc(a/b)*b (fmod) or a - floor(a/b)*b, by Caffe2 in float32."""
    a, b = inputs
    shape = bshape(a, b)
    if np.issubdtype(a.dtype, np.integer):
        wa, wb = expand(cast(a, "int64"), shape), expand(cast(b, "int64"), shape)
        r = c1("Sub", [wa, c1("Mul", [c1("Div", [wa, wb]), wb])])
        if not attrs.get("fmod", 0):
            zero = np.zeros(1, np.int64)
            flip = c1("And", [c1("NE", [r, zero]), c1("Xor", [c1("LT", [r, zero]), c1("LT", [wb, zero])])])
            r = c1("Add", [r, c1("Mul", [wb, cast(flip, "int64")])])
        return [cast(r.reshape(shape), a.dtype)]
    fa, fb = cast(a, "float32"), cast(b, "float32")
    q = c1("Div", [fa, fb])
    if attrs.get("fmod", 0):
        q = c1("Mul", [c1("Sign", [q]), c1("Floor", [c1("Abs", [q])])])
    else:
        q = c1("Floor", [q])
    return [cast(c1("Sub", [fa, c1("Mul", [q, fb])]).reshape(shape), a.dtype)]


def variadic(op, inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = binary(op, out, x)
    return out


TABLE.add("Max", lambda i, a: [_minmax(i, "GT")])
TABLE.add("Min", lambda i, a: [_minmax(i, "LT")])
TABLE.add("Sum", lambda i, a: [variadic("Add", i)])


def _minmax(inputs, cmp):
    dtype = inputs[0].dtype
    inputs = [widened(x) for x in inputs]
    return cast(_minmax_wide(inputs, cmp), dtype)


def _minmax_wide(inputs, cmp):
    """Max/Min by Caffe2's comparison and Where (its Max/Min hold float32 only and broadcast the
    legacy way)."""
    out = inputs[0]
    for x in inputs[1:]:
        shape = bshape(out, x)
        out, x = expand(out, shape), expand(x, shape)
        out = c1("Where", [c1(cmp, [widened(out), widened(x)]), out, x]).reshape(shape)
    return out


@TABLE.register("Mean")
def mean(inputs, attrs):
    total = variadic("Add", inputs)
    return [binary("Div", total, np.array(len(inputs), total.dtype))]


_UNARY = {"Abs": "Abs", "Neg": "Negative", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Floor": "Floor",
          "Ceil": "Ceil", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Asin": "Asin", "Acos": "Acos",
          "Atan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh", "Tanh": "Tanh", "Sign": "Sign",
          "Reciprocal": "Reciprocal", "Erf": "Erf", "Sigmoid": "Sigmoid", "Relu": "Relu", "Softsign": "Softsign",
          "Softplus": "Softplus"}


def unary(op, x, **args):
    """Caffe2 ``op`` on x; types its kernel lacks go through float32 (Caffe2 Cast) and back."""
    try:
        return c1(op, [x], **args).reshape(x.shape)
    except RuntimeError:
        if x.dtype.name == "float32":
            raise
        return cast(c1(op, [cast(x, "float32")], **args), x.dtype).reshape(x.shape)


def _unary(op):
    return lambda inputs, attrs: [unary(op, inputs[0])]


for _name, _op in _UNARY.items():
    TABLE.add(_name, _unary(_op))


@TABLE.register("Identity")
def identity(inputs, attrs):
    x = inputs[0]
    if not isinstance(x, np.ndarray) or x.dtype == np.object_:  # a sequence, an optional or strings: as is
        return [x]
    return [c1("Copy", [x]).reshape(x.shape)]


@TABLE.register("IsNaN")
def isnan(inputs, attrs):
    return [c1("IsNaN", [inputs[0]]).reshape(inputs[0].shape)]


@TABLE.register("IsInf")
def isinf(inputs, attrs):
    """|x| == inf by Caffe2 (comparing to +inf/-inf as the attributes ask)."""
    x = inputs[0]
    inf = np.array([np.inf], x.dtype)
    pos = c1("EQ", [x, inf]).reshape(x.shape)
    neg = c1("EQ", [x, c1("Negative", [inf])]).reshape(x.shape)
    if not attrs.get("detect_positive", 1):
        return [neg]
    if not attrs.get("detect_negative", 1):
        return [pos]
    return [c1("Or", [pos, neg]).reshape(x.shape)]


@TABLE.register("Asinh")
def asinh(inputs, attrs):
    """log(x + sqrt(x^2 + 1)): Caffe2 has no Asinh."""
    x = inputs[0]
    r = c1("Sqrt", [c1("Add", [c1("Sqr", [x]), np.ones(1, x.dtype)])])
    return [unary("Log", c1("Add", [x, r]).reshape(x.shape))]


@TABLE.register("Acosh")
def acosh(inputs, attrs):
    """log(x + sqrt(x^2 - 1)): Caffe2 has no Acosh."""
    x = inputs[0]
    r = c1("Sqrt", [c1("Sub", [c1("Sqr", [x]), np.ones(1, x.dtype)])])
    return [unary("Log", c1("Add", [x, r]).reshape(x.shape))]


@TABLE.register("Atanh")
def atanh(inputs, attrs):
    """log((1 + x) / (1 - x)) / 2: Caffe2 has no Atanh."""
    x = inputs[0]
    one = np.ones(1, x.dtype)
    q = c1("Div", [c1("Add", [x, one]), c1("Sub", [one, x])])
    return [c1("Scale", [c1("Log", [q])], scale=0.5).reshape(x.shape)]


@TABLE.register("Round")
def round_(inputs, attrs):
    """Round half to even: floor(x + 0.5), minus one at a tie whose result is odd (Caffe2 has no Round)."""
    x = inputs[0]
    half = np.array([0.5], x.dtype)
    r = c1("Floor", [c1("Add", [x, half])])
    tie = c1("EQ", [c1("Sub", [r, x.reshape(-1) if x.ndim == 0 else x]), half])
    rh = c1("Mul", [r, half])
    odd = c1("NE", [c1("Floor", [rh]), rh])
    fix = cast(c1("And", [tie, odd]), x.dtype)
    return [c1("Sub", [r, fix]).reshape(x.shape)]


@TABLE.register("Cast", "CastLike")
def cast_(inputs, attrs):
    x = inputs[0]
    to = attrs.get("to_dtype") if attrs["_op"] == "Cast" else inputs[1].dtype.name
    if to is None or to not in ("float32", "float64", "int32", "int64", "bool", "uint8", "int8", "uint16", "int16"):
        raise NotImplementedError("a Cast to %s" % to)
    if x.dtype == np.object_ or to == "str":
        raise NotImplementedError("a Cast of strings")
    out = cast(x, to)
    if "narrow" in attrs:
        out = narrow(out, attrs)
    return [out]


def narrow(x, attrs):
    """A value held wider made a value of the declared narrow type (``narrow_*`` from the hub).

    Integers wrap into the narrow range (by Caffe2 arithmetic: ((x - lo) mod span) + lo);
    floats are clipped to the narrow type's finite range when ``saturate``.
    """
    lo, hi = attrs["narrow_min"], attrs["narrow_max"]
    if attrs.get("narrow_int"):  # Caffe2's Mod with the divisor's sign: (x - lo) mod span, + lo
        held, x = x.dtype, cast(x, "int64")
        shifted = c1("Sub", [x, np.array([lo], np.int64)])
        wrapped = c1("Mod", [shifted], divisor=int(hi - lo + 1), sign_follow_divisor=True)
        return cast(c1("Add", [wrapped, np.array([lo], np.int64)]).reshape(x.shape), held)
    if attrs.get("saturate", 1) and attrs["narrow"].startswith("float8"):
        return c1("Clip", [x], min=float(lo), max=float(hi)).reshape(x.shape)
    return x


@TABLE.register("Where")
def where(inputs, attrs):
    """Caffe2's Where needs equal shapes: every side expanded first."""
    cond, a, b = inputs
    shape = bshape(cond, a, b)
    out = c1("Where", [expand(cond, shape), widened(expand(a, shape)), widened(expand(b, shape))])
    return [cast(out, a.dtype).reshape(shape)]


def floor_div(a, b):
    """int64 a // b rounding down: Caffe2's Div truncates, so one is taken off where the remainder's
    sign differs from the divisor's."""
    q = c1("Div", [a, b])
    r = c1("Sub", [a, c1("Mul", [q, b])])
    zero = np.zeros(1, np.int64)
    off = c1("And", [c1("NE", [r, zero]), c1("Xor", [c1("LT", [r, zero]), c1("LT", [b, zero])])])
    return c1("Sub", [q, cast(off, "int64")])


@TABLE.register("BitShift")
def bitshift(inputs, attrs):
    """x * 2^n or floor(x / 2^n) with Caffe2 int64 arithmetic (Caffe2 has no shift op); 2^n by
    Caffe2's float32 Pow (powers of two are exact), the result wrapped back by Caffe2's Cast."""
    x, n = inputs
    if n.size and int(n.min()) < 0:  # a guard on the amounts (undefined in ONNX; 2^n would be 0 here)
        raise NotImplementedError("a negative shift")
    shape = bshape(x, n)
    two = expand(np.array([2.0], np.float32).reshape([1] * len(shape)) if shape else np.array(2.0, np.float32),
                 shape)
    p = cast(c1("Pow", [two.reshape(-1), cast(expand(n, shape), "float32").reshape(-1)]), "int64")
    wide = cast(expand(x, shape), "int64").reshape(-1)
    out = c1("Mul", [wide, p]) if attrs["direction"] == "LEFT" else floor_div(wide, p)
    return [cast(out, x.dtype).reshape(shape)]


@TABLE.register("BitwiseNot")
def bitwise_not(inputs, attrs):
    """~x = -x - 1 in two's complement, by Caffe2 int64 arithmetic, wrapped back by Caffe2's Cast."""
    x = inputs[0]
    if x.dtype == np.bool_:
        return [c1("Not", [x]).reshape(x.shape)]
    wide = cast(x, "int64")
    out = c1("Sub", [c1("Negative", [wide]), np.ones(1, np.int64)])
    return [cast(out, x.dtype).reshape(x.shape)]
