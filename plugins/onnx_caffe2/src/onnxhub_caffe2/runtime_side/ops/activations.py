"""Activation functions on Caffe2's kernels (LeakyRelu, Elu, Selu, PRelu, HardSigmoid, Gelu...) or composed of them."""

import numpy as np

from .common import TABLE, bshape, c1
from .elementwise import binary, expand, unary


def _f(x, v):
    return np.array([v], x.dtype)


@TABLE.register("LeakyRelu")
def leaky_relu(inputs, attrs):
    return [unary("LeakyRelu", inputs[0], alpha=float(attrs.get("alpha", 0.01)))]


@TABLE.register("Elu")
def elu(inputs, attrs):
    return [unary("Elu", inputs[0], alpha=float(attrs.get("alpha", 1.0)))]


@TABLE.register("Selu")
def selu(inputs, attrs):
    return [unary("Selu", inputs[0], alpha=float(attrs.get("alpha", 1.6732632423543772848170429916717)),
                  scale=float(attrs.get("gamma", 1.0507009873554804934193349852946)))]


@TABLE.register("ThresholdedRelu")
def thresholded_relu(inputs, attrs):
    return [unary("ThresholdedRelu", inputs[0], alpha=float(attrs.get("alpha", 1.0)))]


@TABLE.register("HardSigmoid")
def hard_sigmoid(inputs, attrs):
    return [unary("HardSigmoid", inputs[0], alpha=float(attrs.get("alpha", 0.2)), beta=float(attrs.get("beta", 0.5)))]


@TABLE.register("PRelu")
def prelu(inputs, attrs):
    """max(x, 0) + slope * min(x, 0) with Caffe2's Relu/Mul (ONNX broadcasts the slope both ways)."""
    x, slope = inputs
    if slope.ndim == 1 and x.ndim > 2 and slope.shape[0] == x.shape[1] and slope.shape[0] != x.shape[-1]:
        slope = slope.reshape((-1,) + (1,) * (x.ndim - 2))  # opset 1-6: one slope per channel (axis 1)
    pos = unary("Relu", x)
    neg = binary("Sub", x, pos)
    return [binary("Add", expand(pos, bshape(x, slope)), binary("Mul", neg, slope))]


@TABLE.register("Celu")
def celu(inputs, attrs):
    """max(0,x) + min(0, alpha*(exp(x/alpha)-1)) = Elu(x/alpha)*alpha."""
    x, alpha = inputs[0], float(attrs.get("alpha", 1.0))
    return [c1("Scale", [unary("Elu", c1("Scale", [x], scale=1.0 / alpha).reshape(x.shape), alpha=1.0)],
               scale=alpha).reshape(x.shape)]


@TABLE.register("Gelu")
def gelu(inputs, attrs):
    return [unary("Gelu", inputs[0], fast_gelu=attrs.get("approximate", "none") == "tanh")]


@TABLE.register("HardSwish")
def hard_swish(inputs, attrs):
    x = inputs[0]
    return [binary("Mul", x, unary("HardSigmoid", x, alpha=1.0 / 6, beta=0.5))]


@TABLE.register("Mish")
def mish(inputs, attrs):
    x = inputs[0]
    return [binary("Mul", x, unary("Tanh", unary("Softplus", x)))]


@TABLE.register("Swish")
def swish(inputs, attrs):
    x = inputs[0]
    alpha = float(attrs.get("alpha", 1.0))
    return [binary("Mul", x, unary("Sigmoid", c1("Scale", [x], scale=alpha).reshape(x.shape)))]


@TABLE.register("Shrink")
def shrink(inputs, attrs):
    """x+bias below -lambd, x-bias above lambd, else 0: Caffe2 comparisons and Where."""
    x = inputs[0]
    lambd, bias = float(attrs.get("lambd", 0.5)), float(attrs.get("bias", 0.0))
    lo = c1("LT", [x, _f(x, -lambd)]).reshape(x.shape)
    hi = c1("GT", [x, _f(x, lambd)]).reshape(x.shape)
    zero = binary("Sub", x, x)
    up = binary("Add", x, _f(x, bias))
    down = binary("Sub", x, _f(x, bias))
    return [c1("Where", [lo, up, c1("Where", [hi, down, zero])]).reshape(x.shape)]


@TABLE.register("Clip", since=11)
def clip_11(inputs, attrs):
    """max(min(x, hi), lo) by Caffe2 (its Clip holds float32 only; Max/Min of a broadcast scalar)."""
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 else None
    hi = inputs[2] if len(inputs) > 2 else None
    from .elementwise import _minmax
    out = c1("Copy", [x]).reshape(x.shape) if x.size else x
    if lo is not None and x.size:  # min(max(x, lo), hi): hi wins when lo > hi, as ONNX says
        out = _minmax([out, expand(lo.reshape([1] * x.ndim), x.shape)], "GT")
    if hi is not None and x.size:
        out = _minmax([out, expand(hi.reshape([1] * x.ndim), x.shape)], "LT")
    return [out]


@TABLE.register("Clip", until=10)
def clip_6(inputs, attrs):
    x = inputs[0]
    return [c1("Clip", [x], min=float(attrs.get("min", -3.4028234663852886e38)),
               max=float(attrs.get("max", 3.4028234663852886e38))).reshape(x.shape)]
