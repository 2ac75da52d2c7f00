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
