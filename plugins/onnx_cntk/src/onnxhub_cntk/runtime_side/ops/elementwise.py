"""Element-wise ONNX operators on CNTK kernels: arithmetic, comparisons, logic, math, casts."""

import math

import cntk as C
import numpy as np

from .common import INTS, TABLE, Empty, T, check_dtype, const, out, pair, trunc

_ARITH = {"Add": C.plus, "Sub": C.minus, "Mul": C.element_times}
_COMPARE = {"Equal": C.equal, "Less": C.less, "Greater": C.greater, "LessOrEqual": C.less_equal,
            "GreaterOrEqual": C.greater_equal}
_LOGIC = {"And": C.element_and, "Or": C.element_or, "Xor": C.element_xor}


def _empty(inputs, dtype):
    """The result of an elementwise op with a zero-sized operand (held as metadata), or None."""
    if not any(isinstance(x, Empty) for x in inputs if x is not None):
        return None
    shape = np.broadcast(*[np.empty(x.shape, np.int8) for x in inputs if x is not None]).shape
    return [const(np.zeros(shape), dtype)]


def _arith(fn):
    def run(inputs, attrs):
        a, b = inputs
        return _empty(inputs, a.dtype) or [out(fn(*pair(a, b)), a.dtype)]
    return run


def _compare(fn):
    return lambda inputs, attrs: _empty(inputs, "bool") or [out(fn(*pair(inputs[0], inputs[1])), "bool")]


for _name, _fn in _ARITH.items():
    TABLE.add(_name, _arith(_fn))
for _name, _fn in _COMPARE.items():
    TABLE.add(_name, _compare(_fn))
for _name, _fn in _LOGIC.items():
    TABLE.add(_name, _compare(_fn))


@TABLE.register("Div")
def div(inputs, attrs):
    a, b = inputs
    q = C.element_divide(*pair(a, b))
    return [out(trunc(q) if a.dtype in INTS else q, a.dtype)]  # ONNX integer division truncates


@TABLE.register("Mod")
def mod(inputs, attrs):
    a, b = inputs
    va, vb = pair(a, b)
    q = C.element_divide(va, vb)
    # fmod: the remainder takes the dividend's sign; integer mod (Python's): the divisor's.
    q = trunc(q) if attrs.get("fmod", 0) else C.floor(q)
    return [out(va - q * vb, a.dtype)]


@TABLE.register("Pow")
def pow_(inputs, attrs):
    a, b = inputs
    va, vb = pair(a, b)
    # CNTK's pow is NaN for a negative base; ONNX (C's pow) allows it with an integer exponent.
    mag = C.pow(C.abs(va), vb)
    odd = C.equal(vb - 2 * C.floor(vb * 0.5), 1)
    signed = C.element_select(C.less(va, 0), C.element_select(odd, -mag, mag), mag)
    r = C.element_select(C.equal(vb, C.floor(vb)), signed, C.pow(va, vb))
    return [out(C.round(r) if a.dtype in INTS else r, a.dtype)]


def _unary(fn):
    return lambda inputs, attrs: _empty(inputs, inputs[0].dtype) or [out(fn(inputs[0].var), inputs[0].dtype)]


_UNARY = {"Neg": C.negate, "Abs": C.abs, "Exp": C.exp, "Log": C.log, "Reciprocal": C.reciprocal,
          "Floor": C.floor, "Ceil": C.ceil, "Sigmoid": C.sigmoid, "Tanh": C.tanh, "Relu": C.relu,
          "Softplus": C.softplus, "Softsign": C.softsign, "Sin": C.sin, "Cos": C.cos, "Tan": C.tan,
          "Asin": C.asin, "Acos": C.acos, "Atan": C.atan, "Sinh": C.sinh, "Cosh": C.cosh, "Asinh": C.asinh,
          "Atanh": C.atanh}
for _name, _fn in _UNARY.items():
    TABLE.add(_name, _unary(_fn))


@TABLE.register("Identity")
def identity(inputs, attrs):
    return [inputs[0]]  # a tensor, or a sequence / optional the plan interpreter holds


@TABLE.register("Sqrt")
def sqrt(inputs, attrs):
    x = inputs[0].var  # CNTK's sqrt of a negative number is 0; ONNX's is NaN
    return _empty(inputs, inputs[0].dtype) or \
        [out(C.element_select(C.less(x, 0), C.constant(np.nan, dtype=x.dtype), C.sqrt(x)), inputs[0].dtype)]


@TABLE.register("Acosh")
def acosh(inputs, attrs):
    x = inputs[0].var
    return [out(C.log(x + C.sqrt(x * x - 1)), inputs[0].dtype)]


@TABLE.register("Sign")
def sign(inputs, attrs):
    x = inputs[0].var
    return [out(C.greater(x, 0) - C.less(x, 0), inputs[0].dtype)]


def _round_even(x):
    f = C.floor(x + 0.5)  # CNTK's round is floor(x + 0.5); ONNX rounds halves to even
    odd = C.equal(f - 2 * C.floor(f * 0.5), 1)
    tie = C.equal(f - x, 0.5)
    return f - C.element_and(odd, tie)


@TABLE.register("Round")
def round_(inputs, attrs):
    return [out(_round_even(inputs[0].var), inputs[0].dtype)]


@TABLE.register("Not")
def not_(inputs, attrs):
    return [out(C.element_not(inputs[0].var), "bool")]


@TABLE.register("IsNaN")
def isnan(inputs, attrs):
    x = inputs[0].var
    return [out(C.not_equal(x, x), "bool")]


@TABLE.register("IsInf")
def isinf(inputs, attrs):
    x = inputs[0].var
    pos = C.equal(x, np.inf) if attrs.get("detect_positive", 1) else C.less(x, x)
    neg = C.equal(x, -np.inf) if attrs.get("detect_negative", 1) else C.less(x, x)
    return [out(C.element_or(pos, neg), "bool")]


@TABLE.register("LeakyRelu")
def leaky_relu(inputs, attrs):
    x = inputs[0].var
    return [out(C.element_select(C.less(x, 0), x * attrs.get("alpha", 0.01), x), inputs[0].dtype)]


@TABLE.register("PRelu")
def prelu(inputs, attrs):
    x, slope = inputs
    if attrs["_opset"] < 7 and slope.rank == 1 and x.rank > 2 and slope.shape[0] == x.shape[1] > 1:
        slope = T(C.reshape(slope.var, (slope.shape[0],) + (1,) * (x.rank - 2)), slope.dtype)  # per channel
    x, slope = pair(x, slope)
    return [out(C.element_select(C.less(x, 0), x * slope, x), inputs[0].dtype)]


@TABLE.register("Elu")
def elu(inputs, attrs):
    x = inputs[0].var
    return [out(C.element_select(C.less(x, 0), attrs.get("alpha", 1.0) * (C.exp(x) - 1), x), inputs[0].dtype)]


@TABLE.register("Celu")
def celu(inputs, attrs):
    x, a = inputs[0].var, attrs.get("alpha", 1.0)
    return [out(C.relu(x) + C.element_min(0, a * (C.exp(x / a) - 1)), inputs[0].dtype)]


@TABLE.register("Selu")
def selu(inputs, attrs):
    x = inputs[0].var
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return [out(gamma * C.element_select(C.less_equal(x, 0), alpha * (C.exp(x) - 1), x), inputs[0].dtype)]


@TABLE.register("ThresholdedRelu")
def thresholded_relu(inputs, attrs):
    x = inputs[0].var
    return [out(C.element_select(C.greater(x, attrs.get("alpha", 1.0)), x, 0 * x), inputs[0].dtype)]


@TABLE.register("HardSigmoid")
def hard_sigmoid(inputs, attrs):
    x = inputs[0].var
    return [out(C.clip(attrs.get("alpha", 0.2) * x + attrs.get("beta", 0.5), 0, 1), inputs[0].dtype)]


@TABLE.register("HardSwish")
def hard_swish(inputs, attrs):
    x = inputs[0].var
    return [out(x * C.clip(x / 6 + 0.5, 0, 1), inputs[0].dtype)]


@TABLE.register("Mish")
def mish(inputs, attrs):
    x = inputs[0].var
    return [out(x * C.tanh(C.softplus(x)), inputs[0].dtype)]


@TABLE.register("Gelu", since=20)
def gelu(inputs, attrs):
    x = inputs[0].var
    if attrs.get("approximate", "none") != "tanh":
        return [out(0.5 * x * (1 + _erf(x * math.sqrt(0.5))), inputs[0].dtype)]
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    return [out(0.5 * x * (1 + C.tanh(inner)), inputs[0].dtype)]


def _erf(x):
    """erf composed from CNTK ops (CNTK has none): Abramowitz-Stegun 7.1.26, |error| < 1.5e-7."""
    s = C.greater_equal(x, 0) * 2 - 1
    a = C.abs(x)
    t = 1 / (1 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1 - poly * C.exp(-a * a))


@TABLE.register("Erf")
def erf(inputs, attrs):
    return [out(_erf(inputs[0].var), inputs[0].dtype)]


@TABLE.register("Shrink")
def shrink(inputs, attrs):
    x, lambd, bias = inputs[0].var, attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    r = C.element_select(C.less(x, -lambd), x + bias, C.element_select(C.greater(x, lambd), x - bias, 0 * x))
    return [out(r, inputs[0].dtype)]


@TABLE.register("Clip")
def clip(inputs, attrs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    v = x.var
    if attrs.get("_opset", 13) < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
        lo = None if lo is None else const(np.array(lo), x.dtype)
        hi = None if hi is None else const(np.array(hi), x.dtype)
    if lo is not None:
        v = C.element_max(*pair(T_(v, x), lo))
    if hi is not None:
        v = C.element_min(*pair(T_(v, x), hi))
    return [out(v, x.dtype)]


def T_(var, like):
    return T(var, like.dtype)


def _variadic(fn, mean=False):
    def run(inputs, attrs):
        acc = inputs[0]
        for other in inputs[1:]:
            acc = T_(fn(*pair(acc, other)), acc)
        return [out(acc.var / len(inputs) if mean else acc.var, inputs[0].dtype)]
    return run


TABLE.add("Sum", _variadic(C.plus))
TABLE.add("Mean", _variadic(C.plus, mean=True))
TABLE.add("Max", _variadic(C.element_max))
TABLE.add("Min", _variadic(C.element_min))


@TABLE.register("Where")
def where(inputs, attrs):
    cond, x, y = inputs
    vx, vy = pair(x, y)
    vx, vc = pair(T_(vx, x), cond)
    vy, vc = pair(T_(vy, y), cond)
    return [out(C.element_select(vc, vx, vy), x.dtype)]


@TABLE.register("Cast")
def cast(inputs, attrs):
    x, to = inputs[0], attrs["to_dtype"]
    check_dtype(to, "the Cast target")
    return [_cast(x, to, attrs)]


@TABLE.register("CastLike")
def cast_like(inputs, attrs):
    return [_cast(inputs[0], inputs[1].dtype, attrs)]


def _cast(x, to, attrs=None):
    if isinstance(x, Empty):
        return const(np.zeros(x.shape), to)
    v = x.var
    narrow = (attrs or {}).get("narrow")
    if to == "bool":
        v = C.not_equal(v, 0)
    elif to in INTS and x.dtype not in INTS and x.dtype != "bool":
        # float -> int truncates toward zero; ONNX rounds to nearest even for the 4-/2-bit types
        v = _round_even(v) if narrow in ("int4", "uint4", "int2", "uint2") else trunc(v)
    if narrow:
        v = _narrow(v, attrs)
    return out(v, to)


def _narrow(v, attrs):
    """A value of a type the hub widened, brought into the declared type's range (in CNTK)."""
    lo, hi = attrs["narrow_min"], attrs["narrow_max"]
    if attrs.get("narrow_int"):  # integers wrap (two's complement, as a cast does)
        span = hi - lo + 1
        d = v - lo
        return d - C.floor(d / span) * span + lo
    if attrs["narrow"].startswith("float8") and attrs.get("saturate", 1):  # ONNX saturates float8 only
        return C.clip(v, lo, hi)
    return v


@TABLE.register("Dropout")
def dropout(inputs, attrs):
    x = inputs[0]
    outs = [x]
    if attrs["_outputs"] > 1:  # inference: the mask is all true
        outs.append(out(C.equal(x.var, x.var) + C.not_equal(x.var, x.var), "bool"))
    return outs
