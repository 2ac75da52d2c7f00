"""Resize and Upsample on CNTK: per resized axis, a matrix product with ONNX's interpolation weights.

The weights (an ``(out, in)`` matrix per axis: one-hot rows for nearest, two taps for linear,
four for cubic, more with antialiasing) depend only on sizes, scales and attributes, so they
are metadata computed here; the data is combined with them by CNTK's ``times``. The
coordinate arithmetic is ``onnxhub.runtime_side.resize_weights``, shared with the MXNet backend.
"""

import cntk as C
import numpy as np

from onnxhub.runtime_side.resize_weights import interpolation_matrix, nearest_index, source_coords

from .common import TABLE, Empty, axis, ints, out, value


def _matrix(mode, coord, nearest, in_size, out_size, scale, roi, attrs):
    """The (out, in) interpolation matrix of one axis and which outputs lie outside a crop box."""
    if mode == "cubic" or coord == "tf_crop_and_resize" or attrs.get("antialias", 0):
        return interpolation_matrix(mode, coord, in_size, out_size, scale, roi, attrs)
    coords = source_coords(coord, out_size, in_size, scale)
    w = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == "nearest":
        w[rows, nearest_index(coords, nearest, in_size)] = 1.0
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
