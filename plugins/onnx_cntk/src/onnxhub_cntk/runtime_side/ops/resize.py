"""Resize and Upsample on CNTK: per resized axis, a matrix product with ONNX's interpolation weights.

The weights (an ``(out, in)`` matrix per axis: one-hot rows for nearest, two taps for linear,
four for cubic, more with antialiasing) depend only on sizes, scales and attributes, so they
are metadata computed here; the data is combined with them by CNTK's ``times``. The
coordinate arithmetic follows ONNX's reference (as the MXNet backend's ``resize.py``).
"""

import cntk as C
import numpy as np

from .common import TABLE, Empty, axis, ints, out, value


def _source_coords(mode, out_size, in_size, scale):
    """Where each output position samples the input (host arithmetic on sizes only)."""
    x = np.arange(out_size, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else np.zeros_like(x)
    if mode == "align_corners":  # ONNX divides by the unrounded output width, scale * in_size
        width = scale * in_size
        return x * (in_size - 1) / (width - 1) if width != 1 else np.zeros_like(x)
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
        idx = np.where(coords == np.floor(coords) + 0.5, np.floor(coords), np.round(coords))
    elif how == "round_prefer_ceil":
        idx = np.floor(coords + 0.5)
    elif how == "floor":
        idx = np.floor(coords)
    elif how == "ceil":
        idx = np.ceil(coords)
    else:
        raise NotImplementedError("nearest_mode %s" % how)
    return np.clip(idx, 0, in_size - 1).astype(np.int64)


def _coeffs(mode, ratio, scale, attrs):
    """ONNX's 1-D interpolation coefficients for a source position ``ratio`` past its left pixel."""
    a = attrs.get("cubic_coeff_a", -0.75)
    if attrs.get("antialias", 0) and mode in ("linear", "cubic"):
        scale = min(scale, 1.0)
        if mode == "linear":
            start = int(np.floor(-1 / scale) + 1)
            args = (np.arange(start, start + 2 - 2 * start) - ratio) * scale
            c = np.clip(1 - np.abs(args), 0, 1)
            return c / c.sum()
        start = int(np.floor(-2 / scale) + 1)
        args = np.abs(np.array([scale * (i - ratio) for i in range(start, 2 - start)]))
        c = np.where(args <= 1, (a + 2) * args ** 3 - (a + 3) * args ** 2 + 1,
                      np.where(args < 2, a * args ** 3 - 5 * a * args ** 2 + 8 * a * args - 4 * a, 0.0))
        return c / c.sum()
    if mode == "linear":
        return np.array([1 - ratio, ratio])
    if mode == "cubic":
        r, q = ratio, 1 - ratio
        return np.array([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                          ((a + 2) * r - (a + 3)) * r * r + 1, ((a + 2) * q - (a + 3)) * q * q + 1,
                          ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a])
    if ratio == 1:  # nearest
        return np.array([0.0, 1.0])
    how = attrs.get("nearest_mode", "round_prefer_floor")
    up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5, "floor": False, "ceil": True}[how]
    return np.array([0.0, 1.0]) if up else np.array([1.0, 0.0])


def _weights(mode, coord, in_size, out_size, scale, roi, attrs):
    """The (out_size, in_size) matrix of ONNX's 1-D interpolation (edge-padded neighbours,
    ``exclude_outside``) and which outputs fall outside a tf_crop_and_resize box."""
    w = np.zeros((out_size, in_size), dtype=np.float64)
    outside = np.zeros(out_size, dtype=bool)
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
        left = int(np.floor(x))
        ratio = 1.0 if x == left else x - left
        c = _coeffs(mode, ratio, scale, attrs).astype(np.float64)
        n = len(c)
        pad = int(np.ceil(n / 2.0))
        xp = x + pad
        near = sorted(range(max(0, left + pad - n - 1), min(in_size + 2 * pad, left + pad + n + 2)),
                      key=lambda k: (abs(xp - k), k))[:n]
        idx = np.array(sorted(near)) - pad
        if attrs.get("exclude_outside", 0):
            c = np.where((idx < 0) | (idx >= in_size), 0.0, c)
            c = c / c.sum()
        for k, coeff in zip(np.clip(idx, 0, in_size - 1), c):
            w[i, k] += coeff
    return w, outside


def _matrix(mode, coord, nearest, in_size, out_size, scale, roi, attrs):
    """The (out, in) interpolation matrix of one axis and which outputs lie outside a crop box."""
    if mode == "cubic" or coord == "tf_crop_and_resize" or attrs.get("antialias", 0):
        return _weights(mode, coord, in_size, out_size, scale, roi, attrs)
    coords = _source_coords(coord, out_size, in_size, scale)
    w = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == "nearest":
        w[rows, _nearest(coords, nearest, in_size)] = 1.0
    elif mode == "linear":
        c = np.clip(coords, 0, in_size - 1)
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, in_size - 1)
        w[rows, lo] += 1 - (c - lo)
        w[rows, hi] += c - lo
    else:
        raise NotImplementedError("Resize mode %s" % mode)
    return w, np.zeros(out_size, dtype=bool)


def _resample(x, axes, scales, sizes, mode, coord, nearest, attrs, roi=None):
    v = x.var
    rank = len(v.shape)
    outside = None
    for i, a in enumerate(axes):
        in_size, scale = x.shape[a], float(scales[i])
        out_size = sizes[i] if sizes is not None else int(np.floor(in_size * scale))
        box = (float(roi[i]), float(roi[len(axes) + i])) if roi is not None else None
        if out_size == in_size and scale == 1.0 and box is None:
            continue
        w, off = _matrix(mode, coord, nearest, in_size, out_size, scale, box, attrs)
        ax = axis(x, a)
        perm = [p for p in range(rank) if p != ax] + [ax]
        moved = C.transpose(v, perm) if ax != rank - 1 else v
        moved = C.times(moved, C.constant(w.T.astype(v.dtype)))  # contracts the last axis with the matrix
        back = list(range(rank - 1))
        back.insert(ax, rank - 1)
        v = C.transpose(moved, back) if ax != rank - 1 else moved
        if off.any():
            shape = [1] * rank
            shape[ax] = out_size
            mask = off.reshape(shape)
            outside = mask if outside is None else np.logical_or(outside, mask)
    if outside is not None:  # positions outside a tf_crop_and_resize box take the extrapolation value
        fill = C.zeros_like(v) + attrs.get("extrapolation_value", 0.0)
        v = C.element_select(C.constant(outside.astype(v.dtype)), fill, v)
    return out(v, x.dtype)


@TABLE.register("Upsample")
@TABLE.register("Resize", until=10)
def resize_10(inputs, attrs):
    """Scales (attribute or input) for every axis, asymmetric coordinates, nearest rounds down."""
    x = inputs[0]
    scales = [float(s) for s in (attrs.get("scales") or value(inputs[1]).reshape(-1))]
    return [_resample(x, list(range(x.rank)), scales, None, attrs.get("mode", "nearest"), "asymmetric", "floor",
                      attrs)]


def _given(t):
    return t is not None and not (isinstance(t, Empty) or 0 in t.shape)


@TABLE.register("Resize", since=11)
def resize_11(inputs, attrs):
    """Scales or sizes as inputs, optional axes, coordinate and rounding modes."""
    x = inputs[0]
    scales = value(inputs[2]).reshape(-1).tolist() if len(inputs) > 2 and _given(inputs[2]) else None
    sizes = ints(inputs[3]) if len(inputs) > 3 and _given(inputs[3]) else None
    axes = [a % x.rank for a in attrs["axes"]] if attrs.get("axes") else list(range(x.rank))
    if sizes is not None:
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        ratios = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
        if policy != "stretch":
            r = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [r] * len(axes)
            sizes = [int(np.round(r * x.shape[a])) for a in axes]
        scales = ratios
    roi = None
    if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
        if len(inputs) < 2 or not _given(inputs[1]):
            raise NotImplementedError("tf_crop_and_resize without roi")
        roi = value(inputs[1]).reshape(-1).tolist()
        if len(roi) == 2 * x.rank and len(axes) != x.rank:
            roi = [roi[a] for a in axes] + [roi[x.rank + a] for a in axes]
    return [_resample(x, axes, scales, sizes, attrs.get("mode", "nearest"),
                      attrs.get("coordinate_transformation_mode", "half_pixel"),
                      attrs.get("nearest_mode", "round_prefer_floor"), attrs, roi)]
