"""Neural-network ONNX operators on CNTK kernels: convolution, pooling, normalization, Gemm/MatMul."""

import math

import cntk as C
import numpy as np

from .common import TABLE, T, axis, out, pair, spatial
from .shape import reshape_to, transpose_to


def _explicit_pads(x, attrs, kernel, strides, dilations):
    """ONNX ``pads`` (begin..., end...) for the spatial axes, auto_pad resolved."""
    n = len(kernel)
    mode = attrs.get("auto_pad", "NOTSET")
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        pads_b, pads_e = [], []
        for d, k, s, dl in zip(x.shape[2:], kernel, strides, dilations):
            total = max((int(math.ceil(d / s)) - 1) * s + (k - 1) * dl + 1 - d, 0)
            small, big = total // 2, total - total // 2
            pads_b.append(small if mode == "SAME_UPPER" else big)
            pads_e.append(big if mode == "SAME_UPPER" else small)
        return pads_b + pads_e
    if mode == "VALID":
        return [0] * (2 * n)
    return list(attrs.get("pads") or [0] * (2 * n))


def _centered(kernel, pads, dilations):
    """True when ONNX's pads are what CNTK's auto padding gives: (k - 1) / 2 on both sides of an
    odd kernel (some pad at all), so the window positions are the same."""
    n = len(kernel)
    return any(pads) and all(k % 2 == 1 and d == 1 and pads[i] == pads[i + n] == (k - 1) // 2
                             for i, (k, d) in enumerate(zip(kernel, dilations)))


def _pad_spatial(v, pads, fill=0.0):
    """Pads the spatial axes of a single-sample value [C, spatial...]."""
    n = len(pads) // 2
    if not any(pads):
        return v
    pattern = [(0, 0)] + [(pads[i], pads[i + n]) for i in range(n)]
    return C.pad(v, pattern=pattern, mode=C.CONSTANT_PAD, constant_value=fill)


@TABLE.register("Conv")
def conv(inputs, attrs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = list(w.shape[2:])
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dilations = attrs.get("dilations") or [1] * n
    pads = _explicit_pads(x, attrs, kernel, strides, dilations)
    group = attrs.get("group", 1)
    # CNTK's dilated convolution gives empty outputs here: the kernel is dilated instead (zeros
    # spliced in between its taps, in CNTK), then convolved densely.
    kern = _dilate(w.var, dilations)
    cin = w.shape[1]
    cout = w.shape[0] // group

    want = [(d + pads[i] + pads[i + n] - ((k - 1) * dl + 1)) // s + 1
            for i, (d, k, s, dl) in enumerate(zip(x.shape[2:], kernel, strides, dilations))]

    def fn(v):
        if (group == 1 or n == 2) and _centered(kernel, pads, dilations) and \
                all(k <= d for k, d in zip(kernel, v.shape[1:])):  # CNTK refuses a kernel wider than the input
            # CNTK's own (centred) padding: much faster than padding the data first
            y = C.convolution(kern, v, strides=tuple(strides), auto_padding=[False] + [True] * n, groups=group)
            if list(y.shape[1:]) == want:
                return y
        v = _pad_spatial(v, pads)
        if group == 1 or n == 2:
            return C.convolution(kern, v, strides=tuple(strides), auto_padding=[False] * (n + 1), groups=group)
        # CNTK groups 2-D only (1-D fails in MKL, "mkl err (-127)"; 3-D is GPU-only): one convolution per group
        return C.splice(*[C.convolution(C.slice(kern, 0, g * cout, (g + 1) * cout), C.slice(v, 0, g * cin, (g + 1) * cin),
                                        strides=tuple(strides), auto_padding=[False] * (n + 1))
                          for g in range(group)], axis=0)
    y = spatial(x, fn)
    if b is not None:
        y = y + C.reshape(b.var, (b.shape[0],) + (1,) * n)
    return [out(y, x.dtype)]


def _dilate(w, dilations, first=2):
    """``w`` with ``d - 1`` zeros between its elements along the axes from ``first`` on (CNTK ops only)."""
    for i, d in enumerate(dilations):
        if d == 1:
            continue
        ax = first + i
        shape = tuple(w.shape)
        k = shape[ax]
        cols = C.reshape(w, shape[:ax + 1] + (1,) + shape[ax + 1:])
        zero = C.zeros_like(cols)  # keeps any batch axis of ``w``
        spread = C.reshape(C.splice(*([cols] + [zero] * (d - 1)), axis=ax + 1),
                           shape[:ax] + (k * d,) + shape[ax + 1:])
        w = C.slice(spread, ax, 0, (k - 1) * d + 1)
    return w


def _flip(w, first=2):
    """``w`` reversed along every axis from ``first`` on (a gather of reversed positions)."""
    for ax in range(first, len(w.shape)):
        n = w.shape[ax]
        if n > 1:
            w = C.gather(C.transpose(w, _front(ax, len(w.shape))),
                         C.constant(np.arange(n - 1, -1, -1).astype(w.dtype)))
            w = C.transpose(w, _back(ax, len(w.shape)))
    return w


def _front(ax, rank):
    return [ax] + [i for i in range(rank) if i != ax]


def _back(ax, rank):
    return list(range(1, ax + 1)) + [0] + list(range(ax + 1, rank))


@TABLE.register("ConvTranspose")
def conv_transpose(inputs, attrs):
    """Composed: zeros inserted between inputs (stride), padded by the kernel's reach, then a stride-1
    convolution with the flipped, channel-transposed kernel; one convolution per group."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = list(w.shape[2:])
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    extra = attrs.get("output_padding") or [0] * n
    group = attrs.get("group", 1)
    size = list(x.shape[2:])
    reach = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    full = [s * (i - 1) + e + r for s, i, e, r in zip(strides, size, extra, reach)]
    target = attrs.get("output_shape")
    mode = attrs.get("auto_pad", "NOTSET")
    if target is None and mode in ("SAME_UPPER", "SAME_LOWER"):
        target = [i * s for i, s in zip(size, strides)]
    if target is not None:
        target = list(target)[-n:]
        total = [f - t for f, t in zip(full, target)]
        if mode == "SAME_UPPER":
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [t - t // 2 for t in total] + [t // 2 for t in total]
    else:
        pads = list(attrs.get("pads") or [0] * (2 * n))
    cin, cog = w.shape[0] // group, w.shape[1]
    kern = _flip(w.var)

    def fn(v):
        v = _dilate(v, strides, first=1)
        for i in range(n):
            lo, hi = reach[i] - 1 - pads[i], reach[i] - 1 - pads[i + n] + extra[i]
            if lo < 0 or hi < 0:  # pads beyond the kernel's reach crop
                v = C.slice(v, i + 1, max(-lo, 0), v.shape[i + 1] - max(-hi, 0))
            if lo > 0 or hi > 0:
                pattern = [(0, 0)] * (n + 1)
                pattern[i + 1] = (max(lo, 0), max(hi, 0))
                v = C.pad(v, pattern=pattern, mode=C.CONSTANT_PAD, constant_value=0)
        outs = []
        for g in range(group):
            wg = C.transpose(C.slice(kern, 0, g * cin, (g + 1) * cin), [1, 0] + list(range(2, n + 2)))
            outs.append(C.convolution(_dilate(wg, dil), C.slice(v, 0, g * cin, (g + 1) * cin),
                                      auto_padding=[False] * (n + 1)))
        return outs[0] if group == 1 else C.splice(*outs, axis=0)
    y = spatial(x, fn)
    if b is not None:
        y = y + C.reshape(b.var, (cog * group,) + (1,) * n)
    return [out(y, x.dtype)]


def _pool_out(d, k, s, pb, pe, dl, ceil):
    span = d + pb + pe - ((k - 1) * dl + 1)
    o = (int(math.ceil(span / s)) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= d + pb:  # ONNX drops a last window that starts in the end padding
        o -= 1
    return o


def _pool(x, attrs, kind):
    kernel = list(attrs["kernel_shape"])
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dilations = attrs.get("dilations") or [1] * n
    if any(d != 1 for d in dilations):
        raise NotImplementedError("pooling with dilations (CNTK's pooling has none)")
    pads = _explicit_pads(x, attrs, kernel, strides, dilations)
    ceil = bool(attrs.get("ceil_mode", 0))
    want = [_pool_out(d, k, s, pads[i], pads[i + n], 1, ceil)
            for i, (d, k, s) in enumerate(zip(x.shape[2:], kernel, strides))]

    def pool(v, fill, ptype):
        if not ceil and _centered(kernel, pads, [1] * n) and all(k <= d for k, d in zip(kernel, v.shape[1:])):
            # CNTK's own padding: max ignores it, average counts it with include_pad (count_include_pad)
            y = C.pooling(v, ptype, tuple(kernel), strides=tuple(strides), auto_padding=[False] + [True] * n,
                          include_pad=bool(attrs.get("count_include_pad", 0)))
            if list(y.shape[1:]) == want:
                return y
        v = _pad_spatial(v, pads, fill)
        y = C.pooling(v, ptype, tuple(kernel), strides=tuple(strides), auto_padding=[False] * (n + 1),
                      ceil_out_dim=ceil, include_pad=False)
        got = list(y.shape[1:])
        for i, (g, wnt) in enumerate(zip(got, want)):
            if g > wnt:
                y = C.slice(y, i + 1, 0, wnt)
            elif g < wnt:
                raise NotImplementedError("CNTK's pooling gives %d positions where ONNX wants %d" % (g, wnt))
        return y

    if kind == "max":
        return spatial(x, lambda v: pool(v, -np.inf, C.MAX_POOLING))
    # Average: sum over the window / count of the cells ONNX counts (pads with count_include_pad=1,
    # never the ceil overhang), both as CNTK averages over the in-tensor part of each window.
    include = attrs.get("count_include_pad", 0)

    def avg(v):
        if not ceil and _centered(kernel, pads, [1] * n):
            y = pool(v, 0.0, C.AVG_POOLING)
            if list(y.shape[1:]) == want:
                return y
        total = pool(v, 0.0, C.AVG_POOLING)
        ones = C.slice(C.ones_like(v), 0, 0, 1) if not include else C.slice(C.ones_like(v), 0, 0, 1)
        mask = _pad_spatial(ones, pads, 1.0 if include else 0.0)
        count = C.pooling(mask, C.AVG_POOLING, tuple(kernel), strides=tuple(strides),
                          auto_padding=[False] * (n + 1), ceil_out_dim=ceil, include_pad=False)
        for i, wnt in enumerate(want):
            if count.shape[i + 1] > wnt:
                count = C.slice(count, i + 1, 0, wnt)
        return total / count
    return spatial(x, avg)


@TABLE.register("MaxPool")
def max_pool(inputs, attrs):
    if attrs["_outputs"] > 1:
        raise NotImplementedError("MaxPool's Indices output (CNTK's pooling returns no indices)")
    if attrs.get("storage_order", 0):
        raise NotImplementedError("MaxPool storage_order=1")
    return [out(_pool(inputs[0], attrs, "max"), inputs[0].dtype)]


@TABLE.register("AveragePool")
def average_pool(inputs, attrs):
    return [out(_pool(inputs[0], attrs, "avg"), inputs[0].dtype)]


def _global(fn):
    def run(inputs, attrs):
        x = inputs[0]
        return [out(fn(x.var, axis=[axis(x, a) for a in range(2, x.rank)]), x.dtype)]
    return run


TABLE.add("GlobalAveragePool", _global(C.reduce_mean))
TABLE.add("GlobalMaxPool", _global(C.reduce_max))


def _channel(x, p):
    """A per-channel [C] parameter shaped to broadcast over axis 1 of ``x``."""
    return C.reshape(p.var, (p.shape[0],) + (1,) * (x.rank - 2))


@TABLE.register("BatchNormalization")
def batch_norm(inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0):
        raise NotImplementedError("BatchNormalization training_mode=1")
    # Folded in CNTK into one scale and one shift (constant subgraphs), then two ops on the data.
    a = C.element_times(scale.var, C.reciprocal(C.sqrt(var.var + attrs.get("epsilon", 1e-5))))
    shift = bias.var - mean.var * a
    v = x.var * C.reshape(a, _channel(x, scale).shape) + C.reshape(shift, _channel(x, scale).shape)
    outs = [out(v, x.dtype)]
    return outs + [mean, var][:attrs["_outputs"] - 1]


@TABLE.register("InstanceNormalization")
def instance_norm(inputs, attrs):
    x, scale, bias = inputs
    axes = [axis(x, a) for a in range(2, x.rank)]
    m = C.reduce_mean(x.var, axis=axes)
    d = x.var - m
    var = C.reduce_mean(d * d, axis=axes)
    y = d / C.sqrt(var + attrs.get("epsilon", 1e-5)) * _channel(x, scale) + _channel(x, bias)
    return [out(y, x.dtype)]


@TABLE.register("LayerNormalization", since=17)
def layer_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    a = attrs.get("axis", -1) % x.rank
    axes = [axis(x, i) for i in range(a, x.rank)]
    m = C.reduce_mean(x.var, axis=axes)
    d = x.var - m
    var = C.reduce_mean(d * d, axis=axes)
    inv = 1 / C.sqrt(var + attrs.get("epsilon", 1e-5))
    y = T(d * inv, x.dtype)
    y = T(C.element_times(*pair(y, scale)), x.dtype)
    if bias is not None:
        y = T(C.plus(*pair(y, bias)), x.dtype)
    outs = [out(y.var, x.dtype)]
    if attrs["_outputs"] > 1:
        outs.append(out(m, x.dtype))
    if attrs["_outputs"] > 2:
        outs.append(out(inv, x.dtype))
    return outs


@TABLE.register("LRN")
def lrn(inputs, attrs):
    x = inputs[0]
    size = attrs["size"]
    sq = x.var * x.var
    c = x.shape[1]
    ax = axis(x, 1)
    pattern = [(0, 0)] * len(x.var.shape)
    pattern[ax] = ((size - 1) // 2, size // 2)
    padded = C.pad(sq, pattern=pattern, mode=C.CONSTANT_PAD, constant_value=0)
    window = C.slice(padded, ax, 0, c)
    for k in range(1, size):  # the sum over neighbouring channels, composed from slices
        window = window + C.slice(padded, ax, k, k + c)
    denom = C.pow(attrs.get("bias", 1.0) + attrs.get("alpha", 1e-4) / size * window, attrs.get("beta", 0.75))
    return [out(x.var / denom, x.dtype)]


def _matmul(a, b):
    """ONNX MatMul of values ``a`` and ``b`` as CNTK ops."""
    if b.rank == 1:
        return reshape_to(T(C.times(a.var, C.reshape(b.var, (b.shape[0], 1))), a.dtype), a.shape[:-1])
    if a.rank == 1:
        return T(C.times(a.var, b.var), a.dtype) if b.rank == 2 else \
            reshape_to(_matmul(reshape_to(a, (1, a.shape[0])), b), b.shape[:-2] + (b.shape[-1],))
    if b.rank == 2 and not b.batch:
        return T(C.times(a.var, b.var), a.dtype)  # CNTK's times contracts the last axis with the first
    if a.batch or b.batch:
        raise NotImplementedError("MatMul of two batch values (CNTK's batch axis)")
    # Batched: broadcast [..., M, K, 1] * [..., 1, K, N] and sum over K (CNTK's times is not batched).
    left = C.reshape(a.var, a.shape + (1,))
    right = C.reshape(b.var, b.shape[:-2] + (1,) + b.shape[-2:])
    prod = C.reduce_sum(left * right, axis=-2)
    shape = np.broadcast(np.empty(a.shape[:-2], np.int8), np.empty(b.shape[:-2], np.int8)).shape
    return reshape_to(T(prod, a.dtype), tuple(shape) + (a.shape[-2], b.shape[-1]))


@TABLE.register("MatMul")
def matmul(inputs, attrs):
    a, b = inputs
    return [out(_matmul(a, b).var, a.dtype)]


@TABLE.register("Gemm")
def gemm(inputs, attrs):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    if attrs.get("transA", 0):
        a = transpose_to(a, (1, 0))
    if attrs.get("transB", 0):
        b = transpose_to(b, (1, 0))
    y = T(C.times(a.var, b.var), a.dtype)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        y = T(y.var * alpha, a.dtype)
    if c is not None:
        cv = T(c.var * beta, c.dtype) if beta != 1.0 else c
        y = T(C.plus(*pair(y, cv)), a.dtype)
    return [out(y.var, a.dtype)]
