"""The operator table: one small numpy function per ONNX op, on ``onnxhub.optable.OpTable``.

Each function takes the node's input arrays (None for an omitted optional input)
and its attributes as keyword arguments, and returns a tuple of outputs. Every op is
registered from opset 7 (before it, broadcasting was a node attribute); an op whose
meaning changed later has one function per opset range (see Softmax).
"""

from __future__ import annotations

import numpy as np

from onnxhub.optable import OpTable

TABLE = OpTable("numpy-lite")
SINCE = 7


def op(*names, since=SINCE, until=None):
    return TABLE.register(*names, since=since, until=until)


def _unary(fn):
    return lambda x: (fn(x).astype(x.dtype),)


for _name, _fn in {"Abs": np.abs, "Neg": np.negative, "Exp": np.exp, "Log": np.log, "Sqrt": np.sqrt,
                   "Tanh": np.tanh, "Floor": np.floor, "Ceil": np.ceil, "Reciprocal": np.reciprocal}.items():
    TABLE.add(_name, _unary(_fn), since=SINCE)


@op("Identity")
def identity(x):
    return (x,)


@op("Relu")
def relu(x):
    return (np.maximum(x, 0).astype(x.dtype),)


@op("Sigmoid")
def sigmoid(x):
    return ((1 / (1 + np.exp(-x))).astype(x.dtype),)


@op("Add")
def add(a, b):
    return ((a + b).astype(np.result_type(a, b)),)


@op("Sub")
def sub(a, b):
    return ((a - b).astype(np.result_type(a, b)),)


@op("Mul")
def mul(a, b):
    return ((a * b).astype(np.result_type(a, b)),)


@op("Div")
def div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return (np.trunc(a / b).astype(a.dtype),)  # ONNX integer division truncates toward zero
    return ((a / b).astype(a.dtype),)


@op("MatMul")
def matmul(a, b):
    return (np.matmul(a, b),)


@op("Gemm")
def gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    a = a.T if transA else a
    b = b.T if transB else b
    y = alpha * (a @ b)
    if c is not None:
        y = y + beta * c
    return (y.astype(a.dtype),)


@op("Transpose")
def transpose(x, perm=None):
    return (np.transpose(x, perm),)


@op("Reshape")
def reshape(x, shape, allowzero=0):
    shape = [int(d) for d in shape]
    if not allowzero:
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return (np.reshape(x, shape),)


@op("Flatten")
def flatten(x, axis=1):
    axis = axis + x.ndim if axis < 0 else axis
    lead = int(np.prod(x.shape[:axis]))
    return (x.reshape(lead, -1) if x.size else x.reshape(lead, int(np.prod(x.shape[axis:]))),)


@op("Concat")
def concat(*xs, axis):
    return (np.concatenate(xs, axis=axis),)


@op("Softmax", since=13)
def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return ((e / e.sum(axis=axis, keepdims=True)).astype(x.dtype),)


@op("Softmax", until=12)
def softmax_1(x, axis=1):
    """Before opset 13: over the input coerced to 2-D (dimensions from ``axis`` on are one row)."""
    axis = axis + x.ndim if axis < 0 else axis
    rows = x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))
    return (softmax(rows, axis=1)[0].reshape(x.shape),)
