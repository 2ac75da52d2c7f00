"""Indexing and selection ONNX operators composed from CNTK ops: GatherElements, OneHot, TopK, Trilu, BitShift."""

import cntk as C
import numpy as np

from .common import TABLE, Empty, T, axis, out, scalar, value


def _positions(n, rank, at, dtype):
    """A constant 0..n-1 laid along axis ``at`` of a rank-``rank`` value (metadata for comparisons)."""
    shape = [1] * rank
    shape[at] = n
    return C.constant(np.arange(n).reshape(shape).astype(dtype))


def _wrap(idx, dim):
    """Indices with negative ones counted from the end, in CNTK."""
    v = idx.var
    return C.element_select(C.less(v, 0), v + dim, v)


@TABLE.register("GatherElements")
def gather_elements(inputs, attrs):
    """Composed: the data sliced to the indices' extent, then for each position k along the axis
    the elements whose index is k are selected (CNTK has no element-wise gather)."""
    x, idx = inputs
    a = attrs.get("axis", 0) % x.rank
    ax = axis(x, a)
    ind = _wrap(idx, x.shape[a])
    if np.dtype(ind.dtype) != np.dtype(x.var.dtype):
        ind = C.cast(ind, x.var.dtype)
    data = x.var
    for i, (d, k) in enumerate(zip(x.shape, idx.shape)):
        if i != a and k < d:
            data = C.slice(data, axis(x, i), 0, k)
    acc = None
    for k in range(x.shape[a]):
        piece = C.slice(data, ax, k, k + 1)
        hit = C.equal(ind, k)
        acc = C.element_select(hit, piece, C.zeros_like(ind) if acc is None else acc)
    return [out(acc, x.dtype)]


@TABLE.register("OneHot", since=9)
def one_hot(inputs, attrs):
    idx, depth, values = inputs
    depth = int(scalar(depth))
    off, on = (float(v) for v in value(values).reshape(-1)[:2])
    rank = idx.rank + 1
    at = attrs.get("axis", -1) % rank
    ind = C.reshape(_wrap(idx, depth), tuple(idx.var.shape) + (1,))
    hot = C.equal(ind, _positions(depth, len(ind.shape), len(ind.shape) - 1, ind.dtype))
    if at != rank - 1:
        perm = list(range(len(ind.shape)))
        perm.insert(at - (1 if idx.batch else 0), perm.pop())
        hot = C.transpose(hot, perm)
    return [out(hot * (on - off) + off, values.dtype)]


@TABLE.register("TopK", since=10)
def top_k(inputs, attrs):
    x, k = inputs[0], int(scalar(inputs[1]))
    a = axis(x, attrs.get("axis", -1))
    if not attrs.get("largest", 1):
        found = C.top_k(-x.var, k, axis=a)
        vals = -found.outputs[0]
    else:
        found = C.top_k(x.var, k, axis=a)
        vals = found.outputs[0]
    return [out(vals, x.dtype), out(found.outputs[1], "int64")]


@TABLE.register("Trilu")
def trilu(inputs, attrs):
    x = inputs[0]
    k = int(scalar(inputs[1], 0)) if len(inputs) > 1 and inputs[1] is not None else 0
    rows, cols = x.shape[-2], x.shape[-1]
    if isinstance(x, Empty):
        return [x]
    keep = np.triu(np.ones((rows, cols)), k) if attrs.get("upper", 1) else np.tril(np.ones((rows, cols)), k)
    mask = C.constant(keep.astype(x.var.dtype))  # which positions stay: metadata of the shape
    return [out(C.element_select(mask, x.var, C.zeros_like(x.var)), x.dtype)]


_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64}


@TABLE.register("BitShift")
def bit_shift(inputs, attrs):
    """x * 2**s wrapped into the type's range, or floor(x / 2**s) (arithmetic for signed x): shifts of
    integers held in float64. A count that is negative or at least the width shifts everything out."""
    x, s = inputs
    if x.dtype not in _BITS:
        raise NotImplementedError("BitShift of %s" % x.dtype)
    bits = _BITS[x.dtype]
    count = C.element_select(C.element_or(C.less(s.var, 0), C.greater_equal(s.var, bits)),
                             C.zeros_like(s.var) + bits, s.var)
    factor = C.pow(C.constant(2.0, dtype=np.float64), count)
    if attrs.get("direction") != "LEFT":
        return [out(C.floor(x.var / factor), x.dtype)]
    span = 2.0 ** bits
    v = x.var * factor
    v = v - C.floor(v / span) * span  # 0 .. 2**bits - 1: the low bits
    if not x.dtype.startswith("u"):  # two's complement
        v = C.element_select(C.greater_equal(v, span / 2), v - span, v)
    return [out(v, x.dtype)]


@TABLE.register("LpNormalization")
def lp_normalization(inputs, attrs):
    x = inputs[0]
    a = axis(x, attrs.get("axis", -1))
    if attrs.get("p", 2) == 1:
        norm = C.reduce_sum(C.abs(x.var), axis=a)
    else:
        norm = C.sqrt(C.reduce_sum(C.square(x.var), axis=a))
    return [out(x.var / norm, x.dtype)]


@TABLE.register("RMSNormalization", since=23)
def rms_normalization(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    a = attrs.get("axis", -1) % x.rank
    axes = [axis(x, i) for i in range(a, x.rank)]
    inv = 1 / C.sqrt(C.reduce_mean(C.square(x.var), axis=axes) + attrs.get("epsilon", 1e-5))
    y = T(x.var * inv, x.dtype)
    return [out(y.var * scale.var, x.dtype)]
