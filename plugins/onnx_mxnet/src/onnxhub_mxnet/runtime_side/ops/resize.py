"""Resize and Upsample."""

import numpy as onp
from mxnet import np

from onnxhub.runtime_side.resize_weights import interpolation_matrix, nearest_index, source_coords

from .common import TABLE, ints


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
        w, off = interpolation_matrix(mode, coord, in_size, out_size, scale, box, attrs)
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
        coords = source_coords(coord, out_size, in_size, scale)
        if mode == "nearest":
            out = np.take(out, np.array(nearest_index(coords, nearest, in_size)), axis=a)
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
