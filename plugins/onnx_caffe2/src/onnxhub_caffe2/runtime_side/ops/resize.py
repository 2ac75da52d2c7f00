"""Resize/Upsample as one interpolation matrix per resized axis, applied by Caffe2's MatMul.

ONNX's interpolation is separable: along each axis every output is a fixed combination of
input positions. The combination weights depend only on sizes, scales and the attributes
(metadata), so they are worked out here as a matrix ``W`` (out x in) following ONNX's
reference rules (coordinate transforms, nearest rounding, linear, cubic, antialias,
exclude_outside, tf_crop_and_resize's extrapolation); Caffe2's ``MatMul`` applies it to the
values, axis by axis.
"""

import math

import numpy as np

from .common import TABLE, c1, cast, ints
from .shape import reshape, transpose


def _x_original(x, mode, scale, n_in, n_out, roi):
    """ONNX's coordinate_transformation_mode: the input coordinate of output ``x`` (None: extrapolate)."""
    out_width = scale * n_in
    if mode == "align_corners":
        return 0.0 if out_width == 1 else x * (n_in - 1) / (out_width - 1)
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_crop_and_resize":
        if out_width == 1:
            xo = (roi[1] - roi[0]) * (n_in - 1) / 2
        else:
            xo = x * (roi[1] - roi[0]) * (n_in - 1) / (out_width - 1)
        xo += roi[0] * (n_in - 1)
        return None if xo < 0 or xo > n_in - 1 else xo
    if mode == "pytorch_half_pixel":
        return -0.5 if out_width == 1 else (x + 0.5) / scale - 0.5
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        offset = n_in / 2 * (1 - n_out / out_width)
        return offset + (x + 0.5) / scale - 0.5
    raise NotImplementedError("coordinate_transformation_mode %s" % mode)


def _coeffs(attrs, ratio, scale):
    mode = attrs.get("mode", "nearest")
    a = attrs.get("cubic_coeff_a", -0.75)
    anti = attrs.get("antialias", 0) and scale < 1
    if mode == "nearest":
        if ratio == int(ratio):
            return [0, 1]
        near = attrs.get("nearest_mode", "round_prefer_floor")
        return {"round_prefer_floor": [ratio <= 0.5, ratio > 0.5], "round_prefer_ceil": [ratio < 0.5, ratio >= 0.5],
                "floor": [1, 0], "ceil": [0, 1]}[near]
    if mode == "linear":
        if not anti:
            return [1 - ratio, ratio]
        start = int(math.floor(-1 / scale) + 1)
        args = (np.arange(start, 2 - start) - ratio) * scale
        c = np.clip(1 - np.abs(args), 0, 1)
        return list(c / c.sum())
    if mode == "cubic":
        if not anti:
            r = ratio
            return [((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                    ((a + 2) * r - (a + 3)) * r * r + 1,
                    ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
                    ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a]
        start = int(math.floor(-2 / scale) + 1)
        c = []
        for i in range(start, 2 - start):
            x = abs(scale * (i - ratio))
            c.append((a + 2) * x ** 3 - (a + 3) * x ** 2 + 1 if x <= 1 else
                     a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a if x < 2 else 0.0)
        return [v / sum(c) for v in c]
    raise NotImplementedError("mode %s" % mode)


def _neighbors(x, n, n_in):
    """ONNX's n nearest indexes to x in the edge-padded axis (smaller first), as input positions."""
    pad = int(math.ceil(n / 2))
    x = x + pad
    idx = sorted(sorted(range(n_in + 2 * pad), key=lambda i: (abs(x - i), i))[:n])
    return [min(max(i - pad, 0), n_in - 1) for i in idx], [i - pad for i in idx]


def _matrix(attrs, n_in, n_out, scale, roi):
    """``(W, bias)``: output = W @ input + bias along one axis."""
    w = np.zeros((n_out, n_in), np.float64)
    bias = np.zeros(n_out, np.float64)
    mode = attrs.get("coordinate_transformation_mode", "half_pixel")
    for x in range(n_out):
        xo = _x_original(x, mode, scale, n_in, n_out, roi)
        if xo is None:
            bias[x] = attrs.get("extrapolation_value", 0.0)
            continue
        base = math.floor(xo)
        ratio = 1 if xo == base else xo - base
        c = np.array(_coeffs(attrs, ratio, scale), np.float64)
        taken, raw = _neighbors(xo, len(c), n_in)
        if attrs.get("exclude_outside", 0):
            c = np.array([v if 0 <= r < n_in else 0.0 for v, r in zip(c, raw)])
            c = c / c.sum()
        for v, i in zip(c, taken):
            w[x, i] += v
    return w, bias


def _apply(x, axis, w, bias):
    """W along ``axis`` by Caffe2's MatMul on x with the axis moved last (Transpose), then moved back."""
    perm = list(range(x.ndim))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    t = transpose([x], {"perm": perm})[0] if axis != x.ndim - 1 else x
    lead = t.shape[:-1]
    flat = reshape(t, (int(np.prod(lead)), t.shape[-1]))
    y = c1("MatMul", [flat, w.astype(np.float32)], trans_b=1)
    if bias.any():
        y = c1("Add", [y, bias.astype(np.float32).reshape(1, -1)])
    y = y.reshape(lead + (w.shape[0],))
    return transpose([y], {"perm": perm})[0] if axis != x.ndim - 1 else y


@TABLE.register("Resize", since=11)
def resize(inputs, attrs):
    x = inputs[0]
    inputs = list(inputs) + [None] * (4 - len(inputs))
    roi, scales, sizes = inputs[1], inputs[2], inputs[3]
    axes = [a % x.ndim for a in attrs.get("axes") or range(x.ndim)]
    n = len(axes)
    roi = [float(v) for v in np.asarray(roi).reshape(-1)] if roi is not None and roi.size else [0.0] * n + [1.0] * n
    if sizes is not None and sizes.size:
        out = ints(sizes)
        in_ = [x.shape[a] for a in axes]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        s = [o / i for o, i in zip(out, in_)]
        if policy != "stretch":
            one = min(s) if policy == "not_larger" else max(s)
            s = [one] * n
            out = [int(math.floor(one * i + 0.5)) for i in in_]
    else:
        s = [float(v) for v in np.asarray(scales).reshape(-1)]
        out = [int(math.floor(x.shape[a] * v)) for a, v in zip(axes, s)]
    y = cast(x, "float32")
    for k, a in enumerate(axes):
        if out[k] == x.shape[a] and s[k] == 1.0 and attrs.get("coordinate_transformation_mode") != "tf_crop_and_resize":
            continue
        w, bias = _matrix(attrs, x.shape[a], out[k], s[k], (roi[k], roi[k + n]))
        y = _apply(y, a, w, bias)
    if np.issubdtype(x.dtype, np.integer) and attrs.get("mode", "nearest") != "nearest":
        y = c1("Floor", [c1("Add", [y, np.array([0.5], np.float32)])]).reshape(y.shape)  # round half up
    return [cast(y, x.dtype)]


@TABLE.register("Upsample", until=9)
def upsample(inputs, attrs):
    """Upsample-7/9: nearest or linear by scales, asymmetric coordinates."""
    scales = attrs.get("scales")
    scales = np.array(scales if scales is not None else np.asarray(inputs[1]).reshape(-1), np.float32)
    mode = attrs.get("mode", "nearest")
    a = {"mode": "linear" if mode in ("linear", "bilinear") else mode,
         "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor", "_opset": attrs["_opset"]}
    return resize([inputs[0], None, scales, None], a)
