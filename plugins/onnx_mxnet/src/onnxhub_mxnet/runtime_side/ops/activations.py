"""Activation functions and the softmax family."""

import math

import numpy as onp
from mxnet import np, npx

from .common import TABLE


@TABLE.register("LeakyRelu")
def leaky_relu(inputs, attrs):
    return [npx.leaky_relu(inputs[0], act_type="leaky", slope=attrs.get("alpha", 0.01))]


@TABLE.register("Elu")
def elu(inputs, attrs):
    x, alpha = inputs[0], attrs.get("alpha", 1.0)
    return [np.where(x > 0, x, alpha * (np.exp(x) - 1)).astype(x.dtype)]


@TABLE.register("Selu")
def selu(inputs, attrs):
    x = inputs[0]
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return [(gamma * np.where(x > 0, x, alpha * (np.exp(x) - 1))).astype(x.dtype)]


@TABLE.register("Celu")
def celu(inputs, attrs):
    x, alpha = inputs[0], attrs.get("alpha", 1.0)
    return [(np.maximum(x, 0) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))).astype(x.dtype)]


@TABLE.register("ThresholdedRelu")
def thresholded_relu(inputs, attrs):
    x = inputs[0]
    return [np.where(x > attrs.get("alpha", 1.0), x, np.zeros_like(x))]


@TABLE.register("HardSigmoid")
def hard_sigmoid(inputs, attrs):
    x = inputs[0]
    return [np.clip(attrs.get("alpha", 0.2) * x + attrs.get("beta", 0.5), 0, 1).astype(x.dtype)]


@TABLE.register("HardSwish")
def hard_swish(inputs, attrs):
    x = inputs[0]
    return [(x * np.clip(x / 6 + 0.5, 0, 1)).astype(x.dtype)]


@TABLE.register("Softplus")
def softplus(inputs, attrs):
    return [npx.activation(inputs[0], act_type="softrelu")]


@TABLE.register("Softsign")
def softsign(inputs, attrs):
    return [npx.activation(inputs[0], act_type="softsign")]


@TABLE.register("PRelu")
def prelu(inputs, attrs):
    x, slope = inputs
    return [np.where(x < 0, x * slope, x).astype(x.dtype)]


@TABLE.register("Gelu")
def gelu(inputs, attrs):
    x = inputs[0]
    if attrs.get("approximate", "none") == "tanh":
        return [(0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(x.dtype)]
    return [(0.5 * x * (1 + npx.erf(x / math.sqrt(2)))).astype(x.dtype)]


@TABLE.register("Mish")
def mish(inputs, attrs):
    x = inputs[0]
    return [x * np.tanh(npx.activation(x, act_type="softrelu"))]


def _coerced_2d(x, axis):
    """Before opset 13, softmax-like ops work on the input flattened to 2-D at ``axis``."""
    axis = axis % x.ndim if x.ndim else 0
    return x.reshape(int(onp.prod(x.shape[:axis])) if axis else 1, -1)


def _on_2d(fn):
    def run(inputs, attrs):
        x = inputs[0]
        return [fn(_coerced_2d(x, attrs.get("axis", 1)), axis=-1).reshape(x.shape)]
    return run


def _on_axis(fn):
    return lambda inputs, attrs: [fn(inputs[0], axis=attrs.get("axis", -1))]


for _op, _fn in (("Softmax", npx.softmax), ("LogSoftmax", npx.log_softmax)):
    TABLE.add(_op, _on_2d(_fn), until=12)
    TABLE.add(_op, _on_axis(_fn), since=13)


@TABLE.register("Hardmax", until=12)
def hardmax_2d(inputs, attrs):
    x = inputs[0]
    flat = _coerced_2d(x, attrs.get("axis", 1))
    idx = np.argmax(flat, axis=-1)
    return [npx.one_hot(idx, flat.shape[-1], dtype=x.dtype).reshape(x.shape)]


@TABLE.register("Hardmax", since=13)
def hardmax(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", -1) % x.ndim
    idx = np.argmax(x, axis=axis)
    oh = npx.one_hot(idx, x.shape[axis], dtype=x.dtype)
    return [np.moveaxis(oh, -1, axis)]


@TABLE.register("Swish")
def swish(inputs, attrs):
    x = inputs[0]
    return [(x * npx.sigmoid(attrs.get("alpha", 1.0) * x)).astype(x.dtype)]


@TABLE.register("Shrink")
def shrink(inputs, attrs):
    x = inputs[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    y = np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, np.zeros_like(x)))
    return [y.astype(x.dtype)]


@TABLE.register("SwiGLU", since=26)
def swiglu(inputs, attrs):
    """a * sigmoid(alpha * a) * b."""
    a, b = inputs
    alpha = attrs.get("alpha", 1.0)
    return [(a * npx.sigmoid(a * alpha) * b).astype(a.dtype)]
