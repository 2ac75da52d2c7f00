"""ONNX Resize's interpolation geometry, shared by the runtime-side Resize ops of framework backends.

Which input positions each output samples and with what weights depends only on sizes,
scales and attributes, so it is metadata computed on the host with numpy (following ONNX's
reference implementation); a backend then combines the data with these weights using its
framework's own kernels (a gather, a lerp or a matrix product per axis). Runtime-side
code: valid CPython 3.6, numpy only.
"""

import numpy as np


def source_coords(mode, out_size, in_size, scale):
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


def nearest_index(coords, how, in_size):
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


def coefficients(mode, ratio, scale, attrs):
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


def interpolation_matrix(mode, coord, in_size, out_size, scale, roi, attrs):
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
            x = float(source_coords(coord, i + 1, in_size, scale)[i]) if coord != "half_pixel_symmetric" else \
                (in_size / 2) * (1 - out_size / (scale * in_size)) + (i + 0.5) / scale - 0.5
        left = int(np.floor(x))
        ratio = 1.0 if x == left else x - left
        c = coefficients(mode, ratio, scale, attrs).astype(np.float64)
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
