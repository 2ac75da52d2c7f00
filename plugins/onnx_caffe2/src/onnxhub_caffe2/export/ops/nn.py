"""Convolution, pooling, normalization, fully connected, softmax and resampling ops."""

from __future__ import annotations

import numpy as np

from ..convert import CAFFE_LEGACY_POOLING, NOTSET, SAME, TABLE, VALID


def _legacy(ctx, op) -> int:
    return int(ctx.scalar_arg(op, "legacy_pad", NOTSET))


def _static_spatial(ctx, x: str, rank: int):
    shape = ctx.shape_of(x)
    if shape is None or len(shape) != rank + 2 or any(d is None for d in shape[2:]):
        return None
    return shape[2:]


def _caffe_pooling_pads(ctx, op, x, kernel, strides, pads, rank):
    """Explicit pads for Caffe's ceil-mode sizes (legacy_pad=3) when the spatial size is static, else None."""
    sizes = _static_spatial(ctx, x, rank)
    if sizes is None:
        return None
    out = list(pads)
    for i, (n, k, s) in enumerate(zip(sizes, kernel, strides)):
        head = pads[i]
        size = int(np.ceil((n + 2 * head - k) / s + 1))
        if head > 0 and (size - 1) * s >= n + head:
            size -= 1
        standard = (n + 2 * head - k) // s + 1
        out[rank + i] = head + s * (size - standard)
    if any(p >= k for p, k in zip(out, kernel + kernel)):
        return None  # ONNX wants pads smaller than the kernel: ceil_mode says the same
    return out


def _geometry(ctx, op, x, rank, pooling=False):
    """ONNX attributes for kernel placement: ``{pads|auto_pad, strides, dilations, ceil_mode}``."""
    strides = ctx.spatial(op, "stride", rank, 1)
    dilations = ctx.spatial(op, "dilation", rank, 1)
    pads = ctx.pads(op, rank)
    legacy = _legacy(ctx, op)
    attrs = {"strides": strides}
    if any(d != 1 for d in dilations):
        attrs["dilations"] = dilations
    if legacy == NOTSET:
        attrs["pads"] = pads
    elif legacy == VALID:
        attrs["pads"] = [0] * (2 * rank)
    elif legacy == SAME:
        attrs["auto_pad"] = "SAME_UPPER"  # Caffe2 puts the odd pixel at the end, as SAME_UPPER does
    elif legacy == CAFFE_LEGACY_POOLING:
        attrs["legacy"] = True  # resolved by the caller, which knows the kernel
        attrs["pads"] = pads[:rank] * 2
    else:
        raise ctx.unsupported(f"legacy_pad {legacy}")
    return attrs


def _resolve_legacy(ctx, op, x, attrs, kernel, rank, pooling: bool, count_include_pad: bool = False):
    if not attrs.pop("legacy", False):
        return attrs
    pads = _caffe_pooling_pads(ctx, op, x, kernel, attrs["strides"], attrs["pads"], rank)
    if pads is not None:
        attrs["pads"] = pads
    elif pooling and not count_include_pad:
        attrs["ceil_mode"] = 1  # ONNX's ceil mode drops a last window that starts in the padding, as Caffe does
    else:
        raise ctx.unsupported("legacy_pad=3 (Caffe's ceil mode) on an input of unknown spatial size; "
                              "pass --input-shape")
    return attrs


@TABLE.register("Conv", "Conv1D", "Conv2D", "Conv3D")
def conv(ctx, op, inputs):
    """Conv (kernel/stride/pad/dilation in every spelling, group, legacy_pad)"""
    ctx.check_order(op)
    x = inputs[0]
    w = ctx.value(inputs[1])
    rank = ctx.spatial_rank(op, x, None if w is None else w.ndim)
    kernel = ctx.spatial(op, "kernel", rank, None) or (list(w.shape[2:]) if w is not None else None)
    if kernel is None:
        raise ctx.unsupported("no kernel size")
    attrs = _resolve_legacy(ctx, op, x, _geometry(ctx, op, x, rank), kernel, rank, pooling=False)
    return [ctx.one("Conv", inputs[:3], kernel_shape=kernel, group=int(op.arg("group", 1)), **attrs)]


@TABLE.register("ConvTranspose")
def conv_transpose(ctx, op, inputs):
    """ConvTranspose (adj as output_padding, group)"""
    ctx.check_order(op)
    x = inputs[0]
    w = ctx.value(inputs[1])
    rank = ctx.spatial_rank(op, x, None if w is None else w.ndim)
    kernel = ctx.spatial(op, "kernel", rank, None) or (list(w.shape[2:]) if w is not None else None)
    attrs = _geometry(ctx, op, x, rank)
    if attrs.pop("legacy", False) or "auto_pad" in attrs:
        raise ctx.unsupported("legacy_pad on ConvTranspose")
    adj = ctx.spatial(op, "adj", rank, 0)
    if any(adj):
        attrs["output_padding"] = adj
    return [ctx.one("ConvTranspose", inputs[:3], kernel_shape=kernel, group=int(op.arg("group", 1)), **attrs)]


def _pool(onnx_op, global_op):
    def pool(ctx, op, inputs):
        ctx.check_order(op)
        x = inputs[0]
        if int(op.arg("global_pooling", 0)):
            return [ctx.one(global_op, [x])]
        rank = ctx.spatial_rank(op, x)
        kernel = ctx.spatial(op, "kernel", rank, None)
        if kernel is None:
            raise ctx.unsupported("no kernel size and not global_pooling")
        include = bool(int(op.arg("count_include_pad", 0)))
        attrs = _resolve_legacy(ctx, op, x, _geometry(ctx, op, x, rank, pooling=True), kernel, rank,
                                pooling=True, count_include_pad=include and onnx_op == "AveragePool")
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = int(include)
        return [ctx.one(onnx_op, [x], kernel_shape=kernel, **attrs)]

    pool.__doc__ = f"{onnx_op} / {global_op} (global_pooling, legacy_pad=3 as Caffe's ceil mode, per-side pads)"
    return pool


for _name in ("", "1D", "2D", "3D"):
    TABLE.add("MaxPool" + _name, _pool("MaxPool", "GlobalMaxPool"))
    TABLE.add("AveragePool" + _name, _pool("AveragePool", "GlobalAveragePool"))


@TABLE.register("SpatialBN")
def spatial_bn(ctx, op, inputs):
    """BatchNormalization (test mode: running statistics)"""
    ctx.check_order(op)
    if not int(op.arg("is_test", 0)) and len(op.outputs) > 1:
        raise ctx.unsupported("training mode (is_test=0); export a test-mode net")
    return [ctx.one("BatchNormalization", inputs[:5], epsilon=float(op.arg("epsilon", 1e-5)))]


@TABLE.register("AffineChannel")
def affine_channel(ctx, op, inputs):
    """Mul + Add of per-channel scale and bias"""
    ctx.check_order(op)
    x, scale, bias = inputs[:3]
    rank = ctx.rank_of(x)
    y = ctx.one("Mul", [x, ctx.per_channel(scale, rank)])
    return [ctx.one("Add", [y, ctx.per_channel(bias, rank)])]


@TABLE.register("InstanceNorm")
def instance_norm(ctx, op, inputs):
    """InstanceNormalization"""
    ctx.check_order(op)
    return [ctx.one("InstanceNormalization", inputs[:3], epsilon=float(op.arg("epsilon", 1e-5)))]


@TABLE.register("LRN")
def lrn(ctx, op, inputs):
    """LRN (across channels; the scale output is training-only)"""
    ctx.check_order(op)
    return [ctx.one("LRN", inputs[:1], size=int(op.arg("size")), alpha=float(op.arg("alpha", 0.0)),
                    beta=float(op.arg("beta", 0.0)), bias=float(op.arg("bias", 1.0)))]


def _flat_weight(ctx, w: str, axis_w: int) -> str:
    arr = ctx.value(w)
    if arr is not None and arr.ndim != 2:
        return ctx.const(arr.reshape(int(np.prod(arr.shape[:axis_w])), -1), name=f"{w}_2d")
    if arr is None:
        return ctx.one("Flatten", [w], axis=axis_w)
    return w


def _fc(transposed):
    def fc(ctx, op, inputs):
        x, w = inputs[:2]
        axis, axis_w = int(op.arg("axis", 1)), int(op.arg("axis_w", 1))
        w = _flat_weight(ctx, w, axis_w)
        known = ctx.rank_hint(x)
        flat = x if known == 2 and axis == 1 else ctx.one("Flatten", [x], axis=axis)
        y = ctx.one("Gemm", [flat, w] + inputs[2:3], transB=0 if transposed else 1)
        if axis == 1:
            return [y]
        lead = ctx.slice(ctx.one("Shape", [x]), [0], [axis])
        return [ctx.one("Reshape", [y, ctx.one("Concat", [lead, ctx.ints([-1])], axis=0)])]

    fc.__doc__ = ("Gemm on the input flattened at `axis` (W flattened at `axis_w`), reshaped back"
                  + (" (W stored [K, N])" if transposed else ""))
    return fc


TABLE.add("FC", _fc(False))
TABLE.add("FCTransposed", _fc(True))


@TABLE.register("MatMul")
def matmul(ctx, op, inputs):
    """Gemm on A and B flattened to 2-D at axis_a/axis_b (trans_a/trans_b)"""
    a, b = inputs[:2]
    axis_a, axis_b = int(op.arg("axis_a", 1)), int(op.arg("axis_b", 1))
    a = a if ctx.rank_hint(a) == 2 and axis_a == 1 else ctx.one("Flatten", [a], axis=axis_a)
    b = _flat_weight(ctx, b, axis_b) if ctx.value(b) is not None else (
        b if ctx.rank_hint(b) == 2 and axis_b == 1 else ctx.one("Flatten", [b], axis=axis_b))
    return [ctx.one("Gemm", [a, b], transA=int(op.arg("trans_a", 0)), transB=int(op.arg("trans_b", 0)))]


@TABLE.register("BatchMatMul")
def batch_matmul(ctx, op, inputs):
    """MatMul (trans_a/trans_b as Transpose of the last two axes)"""
    out = []
    for t, flag in zip(inputs[:2], ("trans_a", "trans_b")):
        if int(op.arg(flag, 0)):
            rank = ctx.rank_of(t)
            perm = list(range(rank - 2)) + [rank - 1, rank - 2]
            t = ctx.one("Transpose", [t], perm=perm)
        out.append(t)
    return [ctx.one("MatMul", out)]


@TABLE.register("Softmax")
def softmax(ctx, op, inputs):
    """Softmax over the axes from `axis` on (Caffe2's flatten-from-axis semantics): Exp(x - ReduceLogSumExp)"""
    x = inputs[0]
    axis = int(op.arg("axis", 1))
    rank = ctx.rank_hint(x)
    if rank is None:
        rank = ctx.rank_of(x)
    axis = axis % rank
    if axis == rank - 1:
        return [ctx.one("Softmax", [x], axis=axis)]
    # exp(x - logsumexp over axes axis..rank-1): keeps the shape known to inference at every opset
    lse = ctx.reduce("ReduceLogSumExp", x, list(range(axis, rank)))
    return [ctx.one("Exp", [ctx.one("Sub", [x, lse])])]


@TABLE.register("LayerNorm")
def layer_norm(ctx, op, inputs):
    """(x - mean) / sqrt(var + epsilon) over the axes from `axis` on, times gamma plus beta"""
    x = inputs[0]
    rank = ctx.rank_of(x)
    axes = list(range(int(op.arg("axis", 1)) % rank, rank))
    y = _normalize(ctx, x, axes, float(op.arg("epsilon", 1e-5)))
    if int(op.arg("elementwise_affine", 0)) and len(inputs) >= 3:
        # gamma and beta hold prod(X.shape[axis:]) values, in any shape: Caffe2 reads them flattened
        gamma, beta = (_trailing(ctx, t, x, axes) for t in inputs[1:3])
        if gamma is None or beta is None:
            flat = ctx.one("Flatten", [y], axis=axes[0])
            flat = ctx.one("Add", [ctx.one("Mul", [flat, ctx.one("Flatten", [inputs[1]], axis=0)]),
                                   ctx.one("Flatten", [inputs[2]], axis=0)])
            return [ctx.one("Reshape", [flat, ctx.one("Shape", [x])]), None, None]
        y = ctx.one("Add", [ctx.one("Mul", [y, gamma]), beta])
    return [y, None, None]


def _trailing(ctx, t: str, x: str, axes: list):
    """``t`` shaped as ``X.shape[axes]`` for broadcasting, or None when that shape is not known."""
    arr = ctx.value(t)
    if arr is None:
        return t if len(axes) == 1 else None
    if arr.ndim == len(axes) and (len(axes) == 1 or arr.ndim > 1):
        return t
    shape = ctx.shape_of(x)
    if shape is None or any(shape[a] is None for a in axes):
        return None
    return ctx.const(arr.reshape([shape[a] for a in axes]), name=f"{t}_shaped")


def _normalize(ctx, x, axes, eps):
    mean = ctx.reduce("ReduceMean", x, axes)
    d = ctx.one("Sub", [x, mean])
    var = ctx.reduce("ReduceMean", ctx.one("Mul", [d, d]), axes)
    std = ctx.one("Sqrt", [ctx.one("Add", [var, ctx.scalar_like(eps, var)])])
    return ctx.one("Div", [d, std])


@TABLE.register("GroupNorm")
def group_norm(ctx, op, inputs):
    """Normalization per group of channels (Reshape to [N, G, -1]), then per-channel gamma and beta"""
    ctx.check_order(op)
    x, gamma, beta = inputs[:3]
    groups = int(op.arg("group", 32))
    rank = ctx.rank_of(x)
    grouped = ctx.one("Reshape", [x, ctx.ints([0, groups, -1])])
    y = _normalize(ctx, grouped, [2], float(op.arg("epsilon", 1e-5)))
    y = ctx.one("Reshape", [y, ctx.one("Shape", [x])])
    y = ctx.one("Mul", [y, ctx.per_channel(gamma, rank)])
    return [ctx.one("Add", [y, ctx.per_channel(beta, rank)])]


@TABLE.register("ResizeNearest")
def resize_nearest(ctx, op, inputs):
    """Resize (nearest, asymmetric, floor) by height_scale/width_scale"""
    ctx.check_order(op)
    if len(inputs) > 1:
        arr = ctx.value(inputs[1])
        if arr is None:
            raise ctx.unsupported("scales from a computed blob")
        hs, ws = (float(v) for v in np.asarray(arr).reshape(-1)[:2])
    else:
        hs, ws = float(op.arg("height_scale", 1.0)), float(op.arg("width_scale", 1.0))
    return [ctx.resize(inputs[0], scales=[1.0, 1.0, hs, ws], mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor")]


@TABLE.register("ChannelShuffle")
def channel_shuffle(ctx, op, inputs):
    """Gather of the channels in shuffled order (output channel j reads channel (j % G) * C/G + j // G)"""
    ctx.check_order(op)
    x = inputs[0]
    groups = int(op.arg("group", 1))
    shape = ctx.shape_of(x)
    if shape is None or len(shape) < 2 or shape[1] is None:
        raise ctx.unsupported("input with an unknown number of channels")
    channels = shape[1]
    if channels % groups:
        raise ctx.unsupported(f"{channels} channels in {groups} groups")
    perm = [(j % groups) * (channels // groups) + j // groups for j in range(channels)]
    return [ctx.one("Gather", [x, ctx.ints(perm)], axis=1)]


@TABLE.register("Dropout")
def dropout(ctx, op, inputs):
    """Identity in test mode (the mask output is training-only)"""
    if not int(op.arg("is_test", 0)):
        raise ctx.unsupported("training mode (is_test=0); export a test-mode net")
    return [inputs[0], None]
