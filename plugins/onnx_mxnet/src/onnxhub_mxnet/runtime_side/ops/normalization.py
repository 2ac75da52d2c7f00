"""Normalization layers."""

import numpy as onp
from mxnet import np

from .common import TABLE


@TABLE.register("BatchNormalization")
def batch_norm(inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0) or attrs["_outputs"] > 1:
        raise NotImplementedError("training-mode BatchNormalization")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = attrs.get("epsilon", 1e-5)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


def _moments(x, axes):
    """Mean and (biased) variance over ``axes``, kept for broadcasting: every normalization needs them."""
    mean = np.mean(x, axis=axes, keepdims=True)
    return mean, np.mean((x - mean) ** 2, axis=axes, keepdims=True)


@TABLE.register("InstanceNormalization")
def instance_norm(inputs, attrs):
    x, scale, bias = inputs
    mean, var = _moments(x, tuple(range(2, x.ndim)))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean) / np.sqrt(var + attrs.get("epsilon", 1e-5)) * scale.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


@TABLE.register("LayerNormalization")
def layer_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attrs.get("axis", -1) % x.ndim
    mean, var = _moments(x, tuple(range(axis, x.ndim)))
    inv = 1 / np.sqrt(var + attrs.get("epsilon", 1e-5))
    y = (x - mean) * inv * scale
    if bias is not None:
        y = y + bias
    outs = [y.astype(x.dtype)]
    if attrs["_outputs"] > 1:
        outs.append(mean)
    if attrs["_outputs"] > 2:
        outs.append(inv)
    return outs


@TABLE.register("LRN")
def lrn(inputs, attrs):
    x = inputs[0]
    size, alpha, beta, bias = attrs["size"], attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    sq = x * x
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = np.pad(sq, tuple([(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2)), mode="constant")
    total = np.zeros(x.shape, dtype=x.dtype)
    for i in range(size):
        total = total + padded[:, i:i + x.shape[1]]
    return [(x / (bias + alpha / size * total) ** beta).astype(x.dtype)]


@TABLE.register("RMSNormalization")
def rms_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    axis = attrs.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    xf = x.astype("float32") if x.dtype == onp.float16 else x
    rms = np.sqrt(np.mean(xf * xf, axis=axes, keepdims=True) + attrs.get("epsilon", 1e-5))
    return [((xf / rms).astype(x.dtype) * scale).astype(x.dtype)]


@TABLE.register("GroupNormalization")
def group_norm(inputs, attrs):
    x, scale, bias = inputs
    g = attrs["num_groups"]
    n, c = x.shape[0], x.shape[1]
    grouped = x.reshape(n, g, -1)
    mean, var = _moments(grouped, 2)
    y = ((grouped - mean) / np.sqrt(var + attrs.get("epsilon", 1e-5))).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return [(y * scale.reshape(shape) + bias.reshape(shape)).astype(x.dtype)]


@TABLE.register("MeanVarianceNormalization")
def mvn(inputs, attrs):
    x = inputs[0]
    mean, var = _moments(x, tuple(attrs.get("axes") or (0, 2, 3)))
    return [((x - mean) / (np.sqrt(var) + 1e-9)).astype(x.dtype)]


@TABLE.register("LpNormalization")
def lp_normalization(inputs, attrs):
    x = inputs[0]
    axis, p = attrs.get("axis", -1), attrs.get("p", 2)
    norm = np.sum(np.abs(x), axis=axis, keepdims=True) if p == 1 else \
        np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return [np.where(norm == 0, np.zeros_like(x), x / np.where(norm == 0, np.ones_like(norm), norm))]
