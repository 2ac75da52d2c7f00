"""Convolutions and pooling, with ONNX's padding rules on MXNet's kernels."""

import numpy as onp
from mxnet import np, npx

from .common import TABLE, pad_constant


def _conv_pads(x, attrs, kernel, strides, dilations, transpose=False):
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    pads = list(attrs.get("pads") or [0] * (2 * n))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * n)
        for i in range(n):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + n] = lo, total - lo
    elif auto == "VALID":
        pads = [0] * (2 * n)
    return pads[:n], pads[n:]


def _pad_asym(x, begin, end, value=0.0):
    if begin == end and value == 0.0:
        return x, begin
    width = tuple([(0, 0), (0, 0)] + list(zip(begin, end)))
    return pad_constant(x, width, value), [0] * len(begin)


def _conv_args(inputs, attrs):
    """x, w, the optional bias and the kernel geometry (kernel, strides, dilations, group), defaults filled in."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = attrs.get("kernel_shape") or list(w.shape[2:])
    n = len(kernel)
    return x, w, b, kernel, attrs.get("strides") or [1] * n, attrs.get("dilations") or [1] * n, attrs.get("group", 1)


@TABLE.register("Conv")
def conv(inputs, attrs):
    x, w, b, kernel, strides, dil, group = _conv_args(inputs, attrs)
    begin, end = _conv_pads(x, attrs, kernel, strides, dil)
    x, pad = _pad_asym(x, begin, end)
    y = npx.convolution(x, w, b, kernel=tuple(kernel), stride=tuple(strides), dilate=tuple(dil), pad=tuple(pad),
                        num_filter=w.shape[0], num_group=group, no_bias=b is None)
    return [y]


@TABLE.register("ConvTranspose")
def conv_transpose(inputs, attrs):
    x, w, b, kernel, strides, dil, group = _conv_args(inputs, attrs)
    n = len(kernel)
    out_pad = attrs.get("output_padding") or [0] * n
    pads = attrs.get("pads")
    out_shape = attrs.get("output_shape")
    if out_shape or attrs.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        spatial = list(x.shape[2:])
        target = list(out_shape)[-n:] if out_shape else [s * st for s, st in zip(spatial, strides)]
        pads = [0] * (2 * n)
        for i in range(n):
            total = strides[i] * (spatial[i] - 1) + out_pad[i] + ((kernel[i] - 1) * dil[i] + 1) - target[i]
            if attrs.get("auto_pad", "NOTSET") == "SAME_UPPER" or not out_shape:
                pads[i], pads[i + n] = total // 2, total - total // 2
            else:
                pads[i], pads[i + n] = total - total // 2, total // 2
    pads = pads or [0] * (2 * n)
    # MXNet computes the full transposed convolution; ONNX's output_padding appends
    # positions that only the bias reaches, and pads crop both ends.
    full = npx.deconvolution(x, w, None, kernel=tuple(kernel), stride=tuple(strides), dilate=tuple(dil),
                             pad=(0,) * n, adj=(0,) * n, num_filter=w.shape[1] * group, num_group=group,
                             no_bias=True)
    if any(out_pad):
        full = np.pad(full, tuple([(0, 0), (0, 0)] + [(0, p) for p in out_pad]), mode="constant")
    if b is not None:
        full = full + b.reshape((1, -1) + (1,) * n)
    index = [slice(None), slice(None)] + [slice(pads[i], full.shape[2 + i] - pads[i + n]) for i in range(n)]
    return [full[tuple(index)]]


def _pool(inputs, attrs, pool_type):
    x = inputs[0]
    kernel = attrs["kernel_shape"]
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    begin, end = _conv_pads(x, attrs, kernel, strides, dil)
    ceil = attrs.get("ceil_mode", 0)
    include = attrs.get("count_include_pad", 0)
    if any(d != 1 for d in dil):
        if pool_type != "max":
            raise NotImplementedError("average or Lp pooling with dilations")
        return _dilated_max(x, kernel, strides, dil, begin, end, ceil)
    if pool_type == "avg" and begin != end and not include:
        # Average over the valid elements only: sum pooling of the zero-padded input divided
        # by sum pooling of a ones mask, both computed by MXNet's pooling kernel.
        ones = np.ones(x.shape, dtype=x.dtype)
        xp, pad = _pad_asym(x, begin, end)
        mp, _ = _pad_asym(ones, begin, end)
        kw = dict(kernel=tuple(kernel), stride=tuple(strides), pad=tuple(pad), pool_type="sum",
                  pooling_convention="full" if ceil else "valid")
        return npx.pooling(xp, **kw) / npx.pooling(mp, **kw)
    if pool_type == "lp":  # (sum |x|^p)^(1/p): MXNet's own Lp pooling supports only some p
        p = attrs.get("p", 2)
        xp, pad = _pad_asym(np.abs(x) ** p, begin, end)
        s = npx.pooling(xp, kernel=tuple(kernel), stride=tuple(strides), pad=tuple(pad), pool_type="sum",
                        pooling_convention="full" if ceil else "valid")
        return _trim_ceil(s ** (1.0 / p), x, kernel, strides, begin, end, ceil)
    if begin != end or pool_type == "max":
        x0 = x
        x, begin = _pad_asym(x, begin, end, value=-onp.inf if pool_type == "max" else 0.0)
        y = npx.pooling(x, kernel=tuple(kernel), stride=tuple(strides), pad=(0,) * n, pool_type=pool_type,
                        pooling_convention="full" if ceil else "valid", count_include_pad=True)
        return _trim_ceil(y, x0, kernel, strides, [b for b in begin], end, ceil)
    y = npx.pooling(x, kernel=tuple(kernel), stride=tuple(strides), pad=tuple(begin), pool_type=pool_type,
                    pooling_convention="full" if ceil else "valid", count_include_pad=bool(include))
    return _trim_ceil(y, x, kernel, strides, begin, end, ceil)


def _trim_ceil(y, x, kernel, strides, begin, end, ceil):
    """ONNX drops a ceil-mode window that would start in the end padding; MXNet's 'full' keeps it."""
    if not ceil:
        return y
    index = [slice(None), slice(None)]
    for i in range(len(kernel)):
        size = x.shape[2 + i]
        out = y.shape[2 + i]
        if (out - 1) * strides[i] >= size + (begin[i] if begin else 0):
            out -= 1
        index.append(slice(0, out))
    return y[tuple(index)]


def _dilated_max(x, kernel, strides, dil, begin, end, ceil):
    """Max pooling with dilations as the maximum of strided slices (MXNet's kernel has no dilation)."""
    import itertools

    n = len(kernel)
    width = tuple([(0, 0), (0, 0)] + [(b, e) for b, e in zip(begin, end)])
    xp = pad_constant(x, width, -onp.inf) if any(begin) or any(end) else x
    out = []
    for i in range(n):
        span = (kernel[i] - 1) * dil[i] + 1
        size = xp.shape[2 + i] - span
        out.append((-(-size // strides[i]) if ceil else size // strides[i]) + 1)
    if ceil:  # windows may run past the end: pad with -inf so every slice exists
        extra = [max(0, (out[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - xp.shape[2 + i]) for i in range(n)]
        if any(extra):
            xp = pad_constant(xp, tuple([(0, 0), (0, 0)] + [(0, e) for e in extra]), -onp.inf)
    result = None
    for offsets in itertools.product(*[range(k) for k in kernel]):
        index = [slice(None), slice(None)]
        for i, k in enumerate(offsets):
            start = k * dil[i]
            index.append(slice(start, start + (out[i] - 1) * strides[i] + 1, strides[i]))
        part = xp[tuple(index)]
        result = part if result is None else np.maximum(result, part)
    return result


@TABLE.register("MaxPool")
def max_pool(inputs, attrs):
    if attrs["_outputs"] > 1:
        raise NotImplementedError("MaxPool indices output")
    if attrs.get("storage_order", 0):
        raise NotImplementedError("storage_order")
    return [_pool(inputs, attrs, "max")]


@TABLE.register("AveragePool")
def average_pool(inputs, attrs):
    return [_pool(inputs, attrs, "avg")]


@TABLE.register("LpPool")
def lp_pool(inputs, attrs):
    return [_pool(inputs, attrs, "lp")]


@TABLE.register("GlobalAveragePool")
def global_average_pool(inputs, attrs):
    x = inputs[0]
    return [np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


@TABLE.register("GlobalMaxPool")
def global_max_pool(inputs, attrs):
    x = inputs[0]
    return [np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)]
