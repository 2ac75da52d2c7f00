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
    if mode == "align_corners":
        return x * (in_size - 1) / (out_size - 1) if out_size > 1 else onp.zeros_like(x)
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


def _resample(x, axes, scales, sizes, mode, coord, nearest):
    """Resample ``x`` axis by axis with MXNet's take (nearest) or take + lerp (linear)."""
    if mode == "cubic" or coord == "tf_crop_and_resize":
        raise NotImplementedError("Resize with antialias, cubic or tf_crop_and_resize")
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
    if attrs.get("antialias", 0):
        raise NotImplementedError("Resize with antialias, cubic or tf_crop_and_resize")
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
    return [_resample(x, axes, scales, sizes, attrs.get("mode", "nearest"),
                      attrs.get("coordinate_transformation_mode", "half_pixel"),
                      attrs.get("nearest_mode", "round_prefer_floor"))]
