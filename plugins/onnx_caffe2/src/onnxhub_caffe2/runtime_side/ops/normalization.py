"""Normalizations over trailing axes: Caffe2's LayerNorm kernel, and RMS/mean-variance/Lp norms composed
of Caffe2's reductions and arithmetic."""

import numpy as np

from .common import TABLE, c2, cast
from .elementwise import binary, unary
from .reduce import reduce
from .shape import reshape


@TABLE.register("LayerNormalization")
def layer_norm(inputs, attrs):
    """Caffe2's LayerNorm (normalises the axes from ``axis`` on, as ONNX does; float32), then scale and bias."""
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attrs.get("axis", -1) % x.ndim
    y, mean, std = c2("LayerNorm", [cast(x, "float32")], 3, axis=axis, epsilon=float(attrs.get("epsilon", 1e-5)))
    y = binary("Mul", cast(y.reshape(x.shape), x.dtype), scale)
    if bias is not None:
        y = binary("Add", y, bias)
    stats = x.shape[:axis] + (1,) * (x.ndim - axis)
    outs = [y]
    if attrs["_outputs"] > 1:
        outs.append(mean.reshape(stats))
    if attrs["_outputs"] > 2:
        outs.append(unary("Reciprocal", std.reshape(stats)))
    return outs


@TABLE.register("RMSNormalization")
def rms_norm(inputs, attrs):
    """x / sqrt(mean(x^2) + epsilon) * scale over the axes from ``axis`` on (float32, Caffe2 ops)."""
    x, scale = inputs[0], inputs[1]
    axis = attrs.get("axis", -1) % x.ndim
    wide = cast(x, "float32")
    ms = reduce("ReduceMean", binary("Mul", wide, wide), list(range(axis, x.ndim)), 1)
    rms = unary("Sqrt", binary("Add", ms, np.array([attrs.get("epsilon", 1e-5)], np.float32)))
    return [binary("Mul", cast(binary("Div", wide, rms), x.dtype), scale)]


@TABLE.register("MeanVarianceNormalization")
def mean_variance_norm(inputs, attrs):
    """(x - mean) / sqrt(mean((x - mean)^2)) over ``axes`` (default N, H, W), plus ONNX's 1e-9."""
    x = inputs[0]
    axes = [a % x.ndim for a in attrs.get("axes") or [0, 2, 3]]
    d = binary("Sub", x, reduce("ReduceMean", x, axes, 1))
    var = reduce("ReduceMean", binary("Mul", d, d), axes, 1)
    return [binary("Div", d, binary("Add", unary("Sqrt", var), np.array([1e-9], x.dtype)))]


@TABLE.register("LpNormalization")
def lp_norm(inputs, attrs):
    """x / ||x||_p along ``axis`` (p = 1 or 2)."""
    x = inputs[0]
    axis = attrs.get("axis", -1) % x.ndim
    p = attrs.get("p", 2)
    if p == 1:
        norm = reduce("ReduceSum", unary("Abs", x), [axis], 1)
    elif p == 2:
        norm = unary("Sqrt", reduce("ReduceSum", binary("Mul", x, x), [axis], 1))
    else:
        raise NotImplementedError("p=%s" % p)
    return [binary("Div", x, norm)]


@TABLE.register("GroupNormalization", since=21)
def group_norm(inputs, attrs):
    """Statistics per group of channels ([N, G, -1] by Caffe2 Reshape), then per-channel scale and bias."""
    x, scale, bias = inputs
    groups = attrs["num_groups"]
    n = x.shape[0]
    g = reshape(cast(x, "float32"), (n, groups, x.size // (n * groups)))
    mean = reduce("ReduceMean", g, [2], 1)
    d = binary("Sub", g, mean)
    var = reduce("ReduceMean", binary("Mul", d, d), [2], 1)
    y = binary("Div", d, unary("Sqrt", binary("Add", var, np.array([attrs.get("epsilon", 1e-5)], np.float32))))
    y = cast(reshape(y, x.shape), x.dtype)
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return [binary("Add", binary("Mul", y, reshape(scale, per_channel)), reshape(bias, per_channel))]
