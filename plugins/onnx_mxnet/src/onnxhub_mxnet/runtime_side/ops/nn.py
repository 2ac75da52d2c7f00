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
    if onp.dtype(inputs[0].dtype).name == "float16":  # MXNet has no float16 gemm on CPU: float32, cast back
        wide = [v.astype("float32") if v is not None else None for v in inputs]
        return [conv(wide, attrs)[0].astype("float16")]
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
        return _dilated(x, kernel, strides, dil, begin, end, ceil, pool_type, include, attrs.get("p", 2))
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


def _dilated(x, kernel, strides, dil, begin, end, ceil, pool_type="max", include=0, p=2):
    """Pooling with dilations over strided slices (MXNet's pooling kernel has no dilation).

    max: the maximum of the slices of the input padded with -inf; avg: the sum of the slices
    of the zero-padded input over the count of a mask (1 on the input, and on the explicit
    pads when ``count_include_pad``; never on a ceil-mode overhang); lp: (sum |x|^p)^(1/p).
    """
    import itertools

    n = len(kernel)
    width = tuple([(0, 0), (0, 0)] + [(b, e) for b, e in zip(begin, end)])
    fill = -onp.inf if pool_type == "max" else 0.0
    src = np.abs(x) ** p if pool_type == "lp" else x
    xp = pad_constant(src, width, fill) if any(begin) or any(end) else src
    mask = None
    if pool_type == "avg":
        ones = np.ones(x.shape, dtype=x.dtype)
        mask = pad_constant(ones, width, 1.0 if include else 0.0) if any(begin) or any(end) else ones
    out = []
    for i in range(n):
        span = (kernel[i] - 1) * dil[i] + 1
        size = xp.shape[2 + i] - span
        out.append((-(-size // strides[i]) if ceil else size // strides[i]) + 1)
    if ceil:  # windows may run past the end: pad so every slice exists (never counted)
        extra = [max(0, (out[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - xp.shape[2 + i]) for i in range(n)]
        if any(extra):
            overhang = tuple([(0, 0), (0, 0)] + [(0, e) for e in extra])
            xp = pad_constant(xp, overhang, fill)
            if mask is not None:
                mask = pad_constant(mask, overhang, 0.0)
    result = count = None
    for offsets in itertools.product(*[range(k) for k in kernel]):
        index = [slice(None), slice(None)]
        for i, k in enumerate(offsets):
            start = k * dil[i]
            index.append(slice(start, start + (out[i] - 1) * strides[i] + 1, strides[i]))
        part = xp[tuple(index)]
        if pool_type == "max":
            result = part if result is None else np.maximum(result, part)
        else:
            result = part if result is None else result + part
            if mask is not None:
                m = mask[tuple(index)]
                count = m if count is None else count + m
    if pool_type == "avg":
        return result / count
    if pool_type == "lp":
        return result ** (1.0 / p)
    return result


@TABLE.register("MaxPool")
def max_pool(inputs, attrs):
    if attrs["_outputs"] > 1:
        raise NotImplementedError("MaxPool indices output")
    if attrs.get("storage_order", 0):
        raise NotImplementedError("storage_order")
    x = inputs[0]
    if not onp.issubdtype(x.dtype, onp.floating):  # MXNet pools floats only; exact for 8-bit and int32 values
        return [_pool([x.astype("float64")] + list(inputs[1:]), attrs, "max").astype(x.dtype)]
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


@TABLE.register("CausalConvWithState")
def causal_conv_with_state(inputs, attrs):
    """Depthwise causal 1-D convolution over [past state, input] (MXNet's grouped convolution,
    in float32 for float16: MXNet has no float16 gemm on CPU); the last k-1 steps are the new state."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    past = inputs[3] if len(inputs) > 3 else None
    activation = attrs.get("activation", "none")
    if activation not in ("none", "silu", "swish"):
        raise NotImplementedError("CausalConvWithState activation %s" % activation)
    n, c = x.shape[0], x.shape[1]
    k = w.shape[2]
    if past is None:
        past = np.zeros((n, c, k - 1), dtype=x.dtype)
    padded = np.concatenate([past, x], axis=2)
    work = "float32" if str(onp.dtype(x.dtype).name) == "float16" else onp.dtype(x.dtype).name
    y = npx.convolution(padded.astype(work), w.astype(work), b.astype(work) if b is not None else None,
                        kernel=(k,), stride=(1,), dilate=(1,), pad=(0,), num_filter=w.shape[0], num_group=c,
                        no_bias=b is None)
    y = y.astype(x.dtype)
    if activation != "none":
        f = y.astype("float32")
        y = (f * npx.sigmoid(f)).astype(x.dtype)
    return [y, padded[:, :, padded.shape[2] - (k - 1):]]


@TABLE.register("Col2Im", since=18)
def col2im(inputs, attrs):
    """Columns back to an image: each kernel offset's column block added into a strided slice of
    the padded image (MXNet's indexed add), then the padding cut off."""
    import itertools

    x = inputs[0]
    image = [int(v) for v in inputs[1].asnumpy().reshape(-1)]
    block = [int(v) for v in inputs[2].asnumpy().reshape(-1)]
    r = len(image)
    dil = attrs.get("dilations") or [1] * r
    strides = attrs.get("strides") or [1] * r
    pads = attrs.get("pads") or [0] * (2 * r)
    n = x.shape[0]
    size = 1
    for b in block:
        size *= b
    c = x.shape[1] // size
    padded = [image[i] + pads[i] + pads[i + r] for i in range(r)]
    counts = [(padded[i] - (dil[i] * (block[i] - 1) + 1)) // strides[i] + 1 for i in range(r)]
    cols = x.reshape(n, c, size, -1)  # MXNet arrays have at most 5 axes here: one column block at a time
    out = np.zeros(tuple([n, c] + padded), dtype=x.dtype)
    for j, offsets in enumerate(itertools.product(*[range(b) for b in block])):
        index = [slice(None), slice(None)]
        for i, o in enumerate(offsets):
            start = o * dil[i]
            index.append(slice(start, start + (counts[i] - 1) * strides[i] + 1, strides[i]))
        index = tuple(index)
        out[index] = out[index] + cols[:, :, j].reshape(tuple([n, c] + counts))
    crop = [slice(None), slice(None)] + [slice(pads[i], pads[i] + image[i]) for i in range(r)]
    return [out[tuple(crop)]]
