"""Matrix products and linear algebra."""

import numpy as onp
from mxnet import np

from .common import TABLE


def _mm(a, b):
    """MXNet's CPU matmul takes float32/64 only: half precision is computed in float32."""
    if a.dtype == onp.float16:
        return np.matmul(a.astype("float32"), b.astype("float32")).astype("float16")
    return np.matmul(a, b)


@TABLE.register("MatMul")
def matmul(inputs, attrs):
    return [_mm(inputs[0], inputs[1])]


@TABLE.register("Gemm")
def gemm(inputs, attrs):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    y = np.matmul(a, b) * attrs.get("alpha", 1.0)
    if c is not None:
        y = y + c * attrs.get("beta", 1.0)
    return [y.astype(inputs[0].dtype)]


@TABLE.register("Einsum")
def einsum(inputs, attrs):
    return [np.einsum(attrs["equation"].replace(" ", ""), *inputs)]


@TABLE.register("Det")
def det(inputs, attrs):
    return [np.linalg.det(inputs[0])]


def _dft(inputs, attrs, axis):
    """DFT as matrix products (MXNet's matmul) with cosine/sine matrices of the transform length."""
    import numpy as onp
    from mxnet import np as mnp

    x = inputs[0]
    length = inputs[1] if len(inputs) > 1 else None
    axis = axis % x.ndim
    if axis == x.ndim - 1:
        raise NotImplementedError("DFT along the real/imaginary axis")
    inverse, onesided = attrs.get("inverse", 0), attrs.get("onesided", 0)
    size = x.shape[axis]
    n = int(length.asnumpy().reshape(-1)[0]) if length is not None and length.size else \
        (2 * (size - 1) if inverse and onesided else size)
    xr = x[..., 0].astype("float64")
    xi = x[..., 1].astype("float64") if x.shape[-1] == 2 else None
    xr, xi = mnp.swapaxes(xr, axis, -1), (mnp.swapaxes(xi, axis, -1) if xi is not None else None)
    rows = onp.arange(size, dtype=onp.float64)[:, None]
    if inverse and onesided:  # a one-sided spectrum back to n real samples (as numpy's irfft)
        cols = onp.arange(n, dtype=onp.float64)[None, :]
        theta = 2 * onp.pi * rows * cols / n
        weight = onp.where((rows == 0) | ((n % 2 == 0) & (rows == n // 2)), 1.0, 2.0) * (rows <= n // 2)
        a, b = weight * onp.cos(theta) / n, -weight * onp.sin(theta) / n
        a[0], b[0] = a[0], 0.0
        if n % 2 == 0 and n // 2 < size:
            b[n // 2] = 0.0
        yr = mnp.matmul(xr, mnp.array(a))
        if xi is not None:
            yr = yr + mnp.matmul(xi, mnp.array(b))
        out = mnp.expand_dims(yr, -1)
    else:
        k = n // 2 + 1 if onesided else n
        cols = onp.arange(k, dtype=onp.float64)[None, :]
        theta = 2 * onp.pi * rows * cols / n
        keep = (rows < n).astype(onp.float64)  # samples past the transform length are dropped
        c, s = mnp.array(onp.cos(theta) * keep), mnp.array(onp.sin(theta) * keep)
        sign = 1.0 if inverse else -1.0
        yr, yi = mnp.matmul(xr, c), sign * mnp.matmul(xr, s)
        if xi is not None:
            yr = yr - sign * mnp.matmul(xi, s)
            yi = yi + mnp.matmul(xi, c)
        if inverse:
            yr, yi = yr / n, yi / n
        out = mnp.stack([yr, yi], axis=-1)
    out = mnp.swapaxes(out, axis, -2)
    return [out.astype(x.dtype)]


@TABLE.register("DFT", since=17, until=19)
def dft_17(inputs, attrs):
    return _dft(inputs, attrs, attrs.get("axis", 1))


@TABLE.register("DFT", since=20)
def dft_20(inputs, attrs):
    axis = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    return _dft(inputs[:2], attrs, int(axis.asnumpy().reshape(-1)[0]) if axis is not None else -2)
