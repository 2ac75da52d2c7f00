"""Resize and Upsample."""

import numpy as onp
from mxnet import np

from .common import TABLE, ints


def _source_coords(mode, out_size, in_size, scale):
    """Where each output position samples the input (host arithmetic on sizes only)."""
    x = onp.arange(out_size, dtype=onp.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else onp.zeros_like(x)
    if mode == "align_corners":  # ONNX divides by the unrounded output width, scale * in_size
        width = scale * in_size
        return x * (in_size - 1) / (width - 1) if width != 1 else onp.zeros_like(x)
    if mode == "asymmetric":
        return x / scale
    if mode == "half_pixel_symmetric":
        adjustment = out_size / (scale * in_size)
        center = in_size / 2
        offset = center * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    raise NotImplementedError("Resize coordinate_transformation_mode %s" % mode)


def _nearest(coords, how, in_size):
    if how == "round_prefer_floor":
        idx = onp.where(coords == onp.floor(coords) + 0.5, onp.floor(coords), onp.round(coords))
    elif how == "round_prefer_ceil":
        idx = onp.floor(coords + 0.5)
    elif how == "floor":
        idx = onp.floor(coords)
    elif how == "ceil":
        idx = onp.ceil(coords)
    else:
        raise NotImplementedError("nearest_mode %s" % how)
    return onp.clip(idx, 0, in_size - 1).astype(onp.int64)


def _coeffs(mode, ratio, scale, attrs):
    """ONNX's 1-D interpolation coefficients for a source position ``ratio`` past its left pixel."""
    a = attrs.get("cubic_coeff_a", -0.75)
    if attrs.get("antialias", 0) and mode in ("linear", "cubic"):
        scale = min(scale, 1.0)
        if mode == "linear":
            start = int(onp.floor(-1 / scale) + 1)
            args = (onp.arange(start, start + 2 - 2 * start) - ratio) * scale
            c = onp.clip(1 - onp.abs(args), 0, 1)
            return c / c.sum()
        start = int(onp.floor(-2 / scale) + 1)
        args = onp.abs(onp.array([scale * (i - ratio) for i in range(start, 2 - start)]))
        c = onp.where(args <= 1, (a + 2) * args ** 3 - (a + 3) * args ** 2 + 1,
                      onp.where(args < 2, a * args ** 3 - 5 * a * args ** 2 + 8 * a * args - 4 * a, 0.0))
        return c / c.sum()
    if mode == "linear":
        return onp.array([1 - ratio, ratio])
    if mode == "cubic":
        r, q = ratio, 1 - ratio
        return onp.array([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                          ((a + 2) * r - (a + 3)) * r * r + 1, ((a + 2) * q - (a + 3)) * q * q + 1,
                          ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a])
    if ratio == 1:  # nearest
        return onp.array([0.0, 1.0])
    how = attrs.get("nearest_mode", "round_prefer_floor")
    up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5, "floor": False, "ceil": True}[how]
    return onp.array([0.0, 1.0]) if up else onp.array([1.0, 0.0])


def _weights(mode, coord, in_size, out_size, scale, roi, attrs):
    """The (out_size, in_size) matrix of ONNX's 1-D interpolation (edge-padded neighbours,
    ``exclude_outside``) and which outputs fall outside a tf_crop_and_resize box."""
    w = onp.zeros((out_size, in_size), dtype=onp.float64)
    outside = onp.zeros(out_size, dtype=bool)
    for i in range(out_size):
        if coord == "tf_crop_and_resize":
            lo, hi = roi
            x = ((hi - lo) * (in_size - 1) / 2 if out_size == 1 else
                 i * (hi - lo) * (in_size - 1) / (out_size - 1)) + lo * (in_size - 1)
            if x < 0 or x > in_size - 1:
                outside[i] = True
                continue
        elif coord == "pytorch_half_pixel" and out_size == 1:
            x = -0.5
        elif coord == "align_corners":
            x = 0.0 if scale * in_size == 1 else i * (in_size - 1) / (scale * in_size - 1)
        else:
            x = float(_source_coords(coord, i + 1, in_size, scale)[i]) if coord != "half_pixel_symmetric" else \
                (in_size / 2) * (1 - out_size / (scale * in_size)) + (i + 0.5) / scale - 0.5
        left = int(onp.floor(x))
        ratio = 1.0 if x == left else x - left
        c = _coeffs(mode, ratio, scale, attrs).astype(onp.float64)
        n = len(c)
        pad = int(onp.ceil(n / 2.0))
        xp = x + pad
        near = sorted(range(max(0, left + pad - n - 1), min(in_size + 2 * pad, left + pad + n + 2)),
                      key=lambda k: (abs(xp - k), k))[:n]
        idx = onp.array(sorted(near)) - pad
        if attrs.get("exclude_outside", 0):
            c = onp.where((idx < 0) | (idx >= in_size), 0.0, c)
            c = c / c.sum()
        for k, coeff in zip(onp.clip(idx, 0, in_size - 1), c):
            w[i, k] += coeff
    return w, outside


def _resample_by_weights(x, axes, scales, sizes, mode, coord, roi, attrs):
    """Cubic, antialiased and tf_crop_and_resize resampling: per axis, a matrix product (MXNet's
    matmul) with ONNX's interpolation weights; outputs outside the crop box take
    ``extrapolation_value``."""
    out = x.astype("float64")
    outside = None
    for i, a in enumerate(axes):
        in_size, scale = x.shape[a], float(scales[i])
        out_size = sizes[i] if sizes is not None else int(onp.floor(in_size * scale))
        box = (float(roi[i]), float(roi[len(axes) + i])) if roi is not None else None
        w, off = _weights(mode, coord, in_size, out_size, scale, box, attrs)
        moved = np.swapaxes(out, a, -1)
        out = np.swapaxes(np.matmul(moved, np.array(w.T)), a, -1)
        if off.any():
            shape = [1] * x.ndim
            shape[a] = out_size
            mask = off.reshape(shape)
            outside = mask if outside is None else onp.logical_or(outside, mask)
    if outside is not None:
        fill = np.full(out.shape, attrs.get("extrapolation_value", 0.0), dtype="float64")
        out = np.where(np.array(onp.broadcast_to(outside, out.shape)), fill, out)
    return out.astype(x.dtype)


def _resample(x, axes, scales, sizes, mode, coord, nearest, attrs=None, roi=None):
    """Resample ``x`` axis by axis with MXNet's take (nearest) or take + lerp (linear)."""
    if mode == "cubic" or coord == "tf_crop_and_resize" or (attrs or {}).get("antialias", 0):
        return _resample_by_weights(x, axes, scales, sizes, mode, coord, roi, attrs or {})
    out = x
    for i, a in enumerate(axes):
        in_size, scale = x.shape[a], float(scales[i])
        out_size = sizes[i] if sizes is not None else int(onp.floor(in_size * scale))
        if out_size == in_size and scale == 1.0:
            continue
        coords = _source_coords(coord, out_size, in_size, scale)
        if mode == "nearest":
            out = np.take(out, np.array(_nearest(coords, nearest, in_size)), axis=a)
        elif mode == "linear":
            c = onp.clip(coords, 0, in_size - 1)
            lo = onp.floor(c).astype(onp.int64)
            hi = onp.minimum(lo + 1, in_size - 1)
            shape = [1] * x.ndim
            shape[a] = out_size
            w = np.array((c - lo).reshape(shape), dtype=str(x.dtype))
            a_lo, a_hi = np.take(out, np.array(lo), axis=a), np.take(out, np.array(hi), axis=a)
            out = a_lo + (a_hi - a_lo) * w
        else:
            raise NotImplementedError("Resize mode %s" % mode)
    return out.astype(x.dtype)


@TABLE.register("Upsample")
@TABLE.register("Resize", until=10)
def resize_10(inputs, attrs):
    """Scales (attribute or input) for every axis, asymmetric coordinates, nearest rounds down."""
    x = inputs[0]
    scales = [float(v) for v in (attrs.get("scales") or inputs[1].asnumpy().reshape(-1))]
    return [_resample(x, list(range(x.ndim)), scales, None, attrs.get("mode", "nearest"), "asymmetric", "floor")]


@TABLE.register("Resize", since=11)
def resize_11(inputs, attrs):
    """Scales or sizes as inputs, optional axes, coordinate and rounding modes."""
    x = inputs[0]
    scales = inputs[2].asnumpy().reshape(-1).tolist() if len(inputs) > 2 and inputs[2] is not None \
        and inputs[2].size else None
    sizes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    axes = [a % x.ndim for a in attrs["axes"]] if attrs.get("axes") else list(range(x.ndim))
    if sizes is not None:
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        ratios = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
        if policy != "stretch":
            r = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [r] * len(axes)
            sizes = [int(onp.round(r * x.shape[a])) for a in axes]
        scales = ratios
    roi = None
    if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
        if len(inputs) < 2 or inputs[1] is None or not inputs[1].size:
            raise NotImplementedError("tf_crop_and_resize without roi")
        roi = inputs[1].asnumpy().reshape(-1).tolist()
        if len(roi) == 2 * x.ndim and len(axes) != x.ndim:
            roi = [roi[a] for a in axes] + [roi[x.ndim + a] for a in axes]
    return [_resample(x, axes, scales, sizes, attrs.get("mode", "nearest"),
                      attrs.get("coordinate_transformation_mode", "half_pixel"),
                      attrs.get("nearest_mode", "round_prefer_floor"), attrs, roi)]


def _reflect(x, lo, hi):
    """Reflect coordinates into [lo, hi] (ONNX GridSample's reflection padding), element-wise."""
    span = hi - lo
    below, above = x < lo, x > hi
    dx = np.where(below, lo - x, x - hi)
    n = np.floor(dx / span)
    r = dx - n * span
    even = np.mod(n, 2) == 0
    from_below = np.where(even, lo + r, hi - r)
    from_above = np.where(even, hi - r, lo + r)
    return np.where(below, from_below, np.where(above, from_above, x))


def _grid_cubic(t, a=-0.75):
    return [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
            ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]


@TABLE.register("GridSample", since=16)
def grid_sample(inputs, attrs):
    """Sampling at grid positions: per spatial axis the neighbours' indices and weights
    (nearest / linear / cubic, zeros / border / reflection padding as ONNX defines them),
    then a gather (MXNet's take_along_axis) and weighted sum over every neighbour combination."""
    import itertools

    x, grid = inputs
    mode = attrs.get("mode", "linear" if attrs["_opset"] >= 20 else "bilinear")
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    padding = attrs.get("padding_mode", "zeros")
    align = attrs.get("align_corners", 0)
    n, c = x.shape[0], x.shape[1]
    dims = list(x.shape[2:])
    r = len(dims)
    out_shape = tuple(grid.shape[1:-1])
    g = grid.astype("float32")
    per_axis = []  # for each spatial axis: [(index, weight, valid)] of its neighbours
    for i, d in enumerate(dims):
        v = g[..., r - 1 - i]
        pos = (v + 1) / 2.0 * (d - 1) if align else ((v + 1) * d - 1) / 2.0
        lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
        if mode == "nearest":
            pos = np.round(pos)
        if padding == "border":
            pos = np.clip(pos, 0, d - 1)
        elif padding == "reflection":
            pos = _reflect(pos, lo, hi)
        if mode == "nearest":
            offsets, base = [0], pos
            weights = [np.ones(pos.shape, dtype="float32")]
        else:
            base = np.floor(pos)
            t = pos - base
            if mode == "linear":
                offsets, weights = [0, 1], [1 - t, t]
            else:
                offsets, weights = [-1, 0, 1, 2], _grid_cubic(t)
        neighbours = []
        for off, w in zip(offsets, weights):
            idx = base + off
            if padding == "zeros":
                valid = ((idx >= 0).astype("float32") * (idx <= d - 1).astype("float32"))
            else:
                valid = None
                idx = np.clip(idx, 0, d - 1) if padding == "border" else np.trunc(_reflect(idx, lo, hi))
            neighbours.append((np.clip(idx, 0, d - 1).astype("int64"), w, valid))
        per_axis.append(neighbours)
    strides = [1] * r
    for i in range(r - 2, -1, -1):
        strides[i] = strides[i + 1] * dims[i + 1]
    flat = x.reshape(n, c, -1).astype("float64")
    points = 1
    for s in out_shape:
        points *= s
    out = None
    for combo in itertools.product(*per_axis):
        index, weight = None, None
        for (idx, w, valid), stride in zip(combo, strides):
            index = idx * stride if index is None else index + idx * stride
            w = w if valid is None else w * valid
            weight = w if weight is None else weight * w
        index = np.broadcast_to(index.reshape(n, 1, points), (n, c, points))
        part = np.take_along_axis(flat, index, axis=2) * weight.reshape(n, 1, points).astype("float64")
        out = part if out is None else out + part
    return [out.reshape((n, c) + out_shape).astype(x.dtype)]


@TABLE.register("AffineGrid", since=20)
def affine_grid(inputs, attrs):
    """The sampling grid of affine matrices ``theta``: normalised base coordinates (x fastest)
    times theta, by MXNet's matmul."""
    theta, size = inputs[0], ints(inputs[1])
    spatial = size[2:]
    align = attrs.get("align_corners", 0)
    axes = []
    for d in spatial:
        i = onp.arange(d, dtype=onp.float64)
        axes.append(onp.linspace(-1, 1, d) if align else (2 * i + 1) / d - 1 if d > 1 else onp.zeros(1))
    mesh = onp.meshgrid(*axes, indexing="ij")  # one array per spatial axis, (D, H, W) order
    base = onp.stack([m.reshape(-1) for m in mesh[::-1]] + [onp.ones(mesh[0].size)], axis=1)  # x, y, (z), 1
    n = theta.shape[0]
    grid = np.matmul(np.array(base.astype(str(onp.dtype(theta.dtype).name))), np.swapaxes(theta, 1, 2))
    return [grid.reshape(tuple([n] + spatial + [len(spatial)]))]
