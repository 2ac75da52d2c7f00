"""Layers: Times (dense), convolution, pooling, batch normalization, softmax.

CNTK keeps kernel, stride and pad vectors in its C++ order (innermost axis first): for an
image ``(C, H, W)`` the kernel is ``(kw, kh, C)``. Spatial axes are the stored axes before
the channel axis; ONNX wants them outermost first, so they are reversed.
"""

from __future__ import annotations

import numpy as np

from ...formats.model import UNKNOWN_RANK
from ..convert import TABLE, Tensor, per_axis


@TABLE.register("Times")
def times(ctx, fn, inputs):
    """x @ W over W's input axes (``outputRank`` trailing axes of W are the output) -> MatMul"""
    w, x = inputs  # stored as Times(W, x): numpy result = x @ W
    if w.dyn:
        raise ctx.unsupported("a data-dependent left operand (W)")
    out_rank = fn.attributes.get("outputRank", 1)
    k = len(w.shape) - out_rank
    contracted, out = w.shape[:k], w.shape[k:]
    if x.shape[len(x.shape) - k:] != contracted:
        raise ctx.unsupported(f"input static shape {x.shape} does not end with W's input axes {contracted}")
    lead = x.shape[:len(x.shape) - k]
    size_in, size_out = int(np.prod(contracted, dtype=np.int64)), int(np.prod(out, dtype=np.int64))
    x2 = ctx.reshape_static(x, lead + (size_in,))
    w2 = ctx.reshape_static(w, (size_in, size_out))
    y = ctx.like(x2, ctx.one("MatMul", [x2.name, w2.name]), shape=lead + (size_out,))
    return [ctx.reshape_static(y, lead + out)]


def _spatial_geometry(ctx, x: Tensor, kernel, strides, dilation, auto_pad, lower, upper):
    """ONNX kernel_shape/strides/dilations/pads for CNTK's stored per-axis vectors (spatial axes only).

    Auto padding centres the kernel the way CNTK's ConvolveGeometry does (more padding at the
    end when the total is odd); explicit pads are taken as given.
    """
    n = len(kernel)
    sizes = list(reversed(x.shape))  # stored order, to match the vectors
    if any(d is None for d in sizes[:n]):
        raise ctx.unsupported("a free spatial dimension; pass --input-shape")
    begins, ends = [], []
    for i in range(n):
        k, s, d = kernel[i], per_axis(strides, i), per_axis(dilation, i)
        ek = (k - 1) * d + 1
        if per_axis(auto_pad, i):
            out = (sizes[i] - 1) // s + 1
            extra = sizes[i] - ((out - 1) * s + 1)
            lo, hi = (ek - 1) // 2 - extra // 2, (ek - 1) - (ek - 1) // 2 - (extra - extra // 2)
            begins.append(max(lo, 0))
            ends.append(max(hi, 0))  # a negative end pad only leaves input unread: same output
        else:
            begins.append(int(per_axis(lower, i)))
            ends.append(int(per_axis(upper, i)))
    strides_ = [int(per_axis(strides, i)) for i in range(n)]
    dil = [int(per_axis(dilation, i)) for i in range(n)]
    rev = lambda v: list(reversed(v))  # noqa: E731
    return {"kernel_shape": rev([int(k) for k in kernel]), "strides": rev(strides_), "dilations": rev(dil),
            "pads": rev(begins) + rev(ends)}


def _out_size(size, kernel, stride, dilation, begin, end, ceil=False):
    span = size + begin + end - ((kernel - 1) * dilation + 1)
    return (-(-span // stride) if ceil else span // stride) + 1


def _output_shape(x: Tensor, channels: int, geo: dict, ceil=False) -> tuple:
    n = len(geo["kernel_shape"])
    spatial = x.shape[len(x.shape) - n:]
    sizes = [_out_size(spatial[i], geo["kernel_shape"][i], geo["strides"][i], geo["dilations"][i],
                       geo["pads"][i], geo["pads"][n + i], ceil) for i in range(n)]
    return (channels,) + tuple(sizes)


def _images(ctx, x: Tensor, what: str) -> None:
    if x.dyn != ("batch",):
        raise ctx.unsupported(f"{what} of a value with dynamic axes {x.dyn}; only [batch, C, ...] is converted")


@TABLE.register("Convolution")
def convolution(ctx, fn, inputs):
    """-> Conv, or ConvTranspose when ``transpose`` (auto padding as explicit pads, whole channel axis)"""
    w, x = inputs[:2]
    a = fn.attributes
    _images(ctx, x, "convolution")
    kernel = list(a["kernelShape"])
    groups = int(a.get("groups", 1))
    transpose = bool(a.get("transpose", False))
    channels = x.shape[0] if x.shape else None
    # Forward: the kernel's last (channel) axis spans the input channels; transposed: the output maps.
    maps = w.shape[1] * groups if transpose else w.shape[0]
    covered = maps if transpose else channels
    if len(kernel) != len(x.shape) or kernel[-1] * groups != covered or not all(a.get("sharing", [True])):
        raise ctx.unsupported(f"kernel {tuple(reversed(kernel))} on input {x.shape}: only kernels over the whole "
                              "channel axis with weight sharing are converted")
    n = len(kernel) - 1
    vectors = (a.get("strides", (1,)), a.get("dilation", (1,)), a.get("autoPadding", [False]),
               a.get("lowerPad", (0,)), a.get("upperPad", (0,)))
    if transpose:
        return [_conv_transpose(ctx, x, w, kernel[:n], groups, maps, vectors, a.get("outputShape", (0,)))]
    geo = _spatial_geometry(ctx, x, kernel[:n], *vectors)
    if w.shape[1:] != (channels // groups,) + tuple(geo["kernel_shape"]):
        raise ctx.unsupported(f"weight shape {w.shape} for kernel {tuple(geo['kernel_shape'])}")
    y = ctx.one("Conv", [x.name, w.name], group=groups, **geo)
    return [Tensor(y, x.dyn, _output_shape(x, maps, geo))]


def _conv_transpose(ctx, x, w, kernel, groups, maps, vectors, output_shape):
    """The transposed convolution is the gradient of a forward one whose input has the output's size:
    that forward convolution's pads, plus ``output_padding`` to reach CNTK's output size."""
    strides, dilation, auto_pad, lower, upper = vectors
    n = len(kernel)
    sizes = list(reversed(x.shape))[:n]  # stored order
    target = []
    for i in range(n):
        k, s, d = kernel[i], per_axis(strides, i), per_axis(dilation, i)
        if len(output_shape) > i and output_shape[i]:
            target.append(int(output_shape[i]))
        elif per_axis(auto_pad, i):
            target.append((sizes[i] - 1) * s + 1)
        else:
            target.append((sizes[i] - 1) * s + (k - 1) * d + 1 - per_axis(lower, i) - per_axis(upper, i))
    forward_input = Tensor(x.name, x.dyn, (maps,) + tuple(reversed(target)))
    geo = _spatial_geometry(ctx, forward_input, kernel, *vectors)
    out = list(reversed(target))
    extra = []
    for i in range(n):
        made = (x.shape[1 + i] - 1) * geo["strides"][i] + (geo["kernel_shape"][i] - 1) * geo["dilations"][i] + 1
        extra.append(out[i] - (made - geo["pads"][i] - geo["pads"][n + i]))
    if any(e < 0 or e >= geo["strides"][i] for i, e in enumerate(extra)):
        raise ctx.unsupported(f"transposed convolution to output size {tuple(out)}")
    y = ctx.one("ConvTranspose", [x.name, w.name], group=groups, output_padding=extra if any(extra) else None,
                **geo)
    return Tensor(y, x.dyn, (maps,) + tuple(out))


@TABLE.register("Pooling")
def pooling(ctx, fn, inputs):
    """-> MaxPool / AveragePool (GlobalMaxPool / GlobalAveragePool for an unknown window)"""
    (x,) = inputs
    a = fn.attributes
    _images(ctx, x, "pooling")
    kind = {0: "Max", 1: "Average"}.get(a.get("poolingType"))
    if kind is None:
        raise ctx.unsupported(f"pooling type {a.get('poolingType')}")
    window = list(a["poolingWindowShape"])
    if window == [UNKNOWN_RANK]:
        return [Tensor(ctx.one(f"Global{kind}Pool", [x.name]), x.dyn, (x.shape[0],) + (1,) * (len(x.shape) - 1))]
    n = len(x.shape) - 1
    if len(window) > n and any(k != 1 for k in window[n:]):
        raise ctx.unsupported("a pooling window across channels")
    window = (window + [1] * n)[:n]
    ceil = bool(a.get("ceilOutDim", False))
    geo = _spatial_geometry(ctx, x, window, a.get("strides", (1,)), (1,), a.get("autoPadding", [False]),
                            a.get("lowerPad", (0,)), a.get("upperPad", (0,)))
    geo.pop("dilations")
    extra = {"count_include_pad": int(bool(a.get("includePad", False)))} if kind == "Average" else {}
    y = ctx.one(f"{kind}Pool", [x.name], ceil_mode=int(ceil), **geo, **extra)
    geo["dilations"] = [1] * n
    return [Tensor(y, x.dyn, _output_shape(x, x.shape[0], geo, ceil))]


@TABLE.register("BatchNormalization")
def batch_normalization(ctx, fn, inputs):
    """inference with the running statistics -> BatchNormalization (per channel) or Mul + Add"""
    x, scale, bias, mean, var = inputs[:5]
    eps = float(fn.attributes.get("epsilon", 1e-5))
    values = [ctx.value(t.name) for t in (scale, bias, mean, var)]
    spatial = fn.attributes.get("spatial", False)
    if spatial and x.dyn == ("batch",) and len(x.shape) >= 1 and scale.shape == (x.shape[0],):
        return [ctx.like(x, ctx.one("BatchNormalization", [x.name, scale.name, bias.name, mean.name, var.name],
                                    epsilon=eps))]
    if any(v is None for v in values):
        raise ctx.unsupported("per-element normalization with statistics that are not constants")
    s, b, m, v = (np.asarray(v, dtype=np.float64) for v in values)
    factor = s / np.sqrt(v + eps)
    shift = b - m * factor
    if spatial:  # per channel of a value not laid out [batch, C, ...]: channel = first static axis
        extra = (1,) * (len(x.shape) - 1)
        factor, shift = factor.reshape(-1, *extra), shift.reshape(-1, *extra)
    dtype = values[0].dtype
    f = Tensor(ctx.const(factor.astype(dtype), name="bn_scale"), (), factor.shape)
    c = Tensor(ctx.const(shift.astype(dtype), name="bn_shift"), (), shift.shape)
    names, dyn, shape = ctx.align(x, f)
    y = ctx.one("Mul", names)
    names, dyn, shape = ctx.align(Tensor(y, dyn, shape), c)
    return [Tensor(ctx.one("Add", names), dyn, shape)]


def _over_all_static(ctx, x: Tensor, onnx_op: str) -> Tensor:
    """``onnx_op`` over the whole static shape, as CNTK normalizes a sample (flatten, apply, restore)."""
    flat = ctx.reshape_static(x, (int(np.prod(x.shape, dtype=np.int64)),)) if len(x.shape) != 1 else x
    y = ctx.like(flat, ctx.one(onnx_op, [flat.name], axis=-1))
    return ctx.reshape_static(y, x.shape)


@TABLE.register("Softmax")
def softmax(ctx, fn, inputs):
    """over every static axis at once (CNTK's softmax without an axis) -> Softmax on the flattened sample"""
    return [_over_all_static(ctx, inputs[0], "Softmax")]


@TABLE.register("LogSoftmax")
def log_softmax(ctx, fn, inputs):
    """over every static axis at once -> LogSoftmax on the flattened sample"""
    return [_over_all_static(ctx, inputs[0], "LogSoftmax")]


@TABLE.register("Hardmax")
def hardmax(ctx, fn, inputs):
    """1 at the largest element of the whole sample, 0 elsewhere -> Hardmax on the flattened sample"""
    return [_over_all_static(ctx, inputs[0], "Hardmax")]
