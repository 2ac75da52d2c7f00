"""Reductions, arg-reductions and the softmax family on CNTK kernels."""

import cntk as C
import numpy as np

from .common import TABLE, Empty, T, axis, const, ints, out
from .shape import reshape_to


def _reduce_axes(x, inputs, attrs):
    """The axes to reduce (ONNX numbering, sorted); attribute before opset 13/18, input after."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        axes = ints(inputs[1])
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return []
        axes = list(range(x.rank))
    return sorted(set(a % max(x.rank, 1) for a in axes))


def _reduce(prep, fn, post=None, empty=None):
    def run(inputs, attrs):
        x = inputs[0]
        axes = _reduce_axes(x, inputs, attrs)
        if isinstance(x, Empty):  # a reduction over an empty set: the op's identity, ONNX says
            shape = [1 if i in axes else d for i, d in enumerate(x.shape) if attrs.get("keepdims", 1) or i not in axes]
            if empty is None:
                raise NotImplementedError("CNTK has no zero-sized tensors (a mean over an empty set)")
            fill = (empty > 0) if x.dtype == "bool" and np.isinf(empty) else empty  # bool max/min: False/True
            return [const(np.full(shape, fill), x.dtype)]
        v = prep(x.var)
        if axes and x.rank:
            v = fn(v, axis=[axis(x, a) for a in axes])
        if post is not None:
            v = post(v)
        y = T(v, x.dtype)
        if axes and not attrs.get("keepdims", 1):
            y = reshape_to(y, [d for i, d in enumerate(x.shape) if i not in axes])
        return [out(y.var, x.dtype)]
    return run


def _ident(v):
    return v


def _log_sum_exp(v, axis):
    m = C.stop_gradient(C.reduce_max(v, axis=axis))
    return C.log(C.reduce_sum(C.exp(v - m), axis=axis)) + m


_REDUCE = {"ReduceSum": (_ident, C.reduce_sum, None, 0), "ReduceMean": (_ident, C.reduce_mean, None, None),
           "ReduceMax": (_ident, C.reduce_max, None, -np.inf), "ReduceMin": (_ident, C.reduce_min, None, np.inf),
           "ReduceProd": (_ident, C.reduce_prod, None, 1), "ReduceL1": (C.abs, C.reduce_sum, None, 0),
           "ReduceL2": (C.square, C.reduce_sum, C.sqrt, 0), "ReduceSumSquare": (C.square, C.reduce_sum, None, 0),
           "ReduceLogSum": (_ident, C.reduce_sum, C.log, -np.inf),
           "ReduceLogSumExp": (_ident, _log_sum_exp, None, -np.inf)}
for _name, (_prep, _fn, _post, _empty) in _REDUCE.items():
    TABLE.add(_name, _reduce(_prep, _fn, _post, _empty))


def _arg(fn):
    def run(inputs, attrs):
        x = inputs[0]
        if attrs.get("select_last_index", 0):
            raise NotImplementedError("select_last_index=1 (CNTK's argmax/argmin pick the first)")
        a = attrs.get("axis", 0) % x.rank
        y = T(fn(x.var, axis=axis(x, a)), "int64")
        if not attrs.get("keepdims", 1):
            y = reshape_to(y, [d for i, d in enumerate(x.shape) if i != a])
        return [out(y.var, "int64")]
    return run


TABLE.add("ArgMax", _arg(C.argmax))
TABLE.add("ArgMin", _arg(C.argmin))


def _softmax(kind):
    def run(inputs, attrs):
        x = inputs[0]
        a = attrs.get("axis", -1 if attrs["_opset"] >= 13 else 1) % x.rank
        if attrs["_opset"] < 13 and a != x.rank - 1:  # before 13: over the input coerced to 2-D at axis
            flat = reshape_to(x, (int(np.prod(x.shape[:a])) if not x.batch else -1, -1))
            return [reshape_to(T(kind(flat, 1).var, x.dtype), x.shape)]
        return [out(kind(x, a).var, x.dtype)]
    return run


def _softmax_fn(x, a):
    v = x.var
    return T(C.softmax(v, axis=axis(x, a)), x.dtype)


def _log_softmax_fn(x, a):
    return T(C.log_softmax(x.var, axis=axis(x, a)), x.dtype)


def _hardmax_fn(x, a):
    ax = axis(x, a)
    idx = C.argmax(x.var, axis=ax)  # the first maximum, as ONNX says
    shape = [1] * len(x.var.shape)
    shape[ax] = x.var.shape[ax]
    positions = C.constant(np.arange(x.var.shape[ax]).reshape(shape).astype(x.var.dtype))
    return T(C.equal(idx, positions), x.dtype)


TABLE.add("Softmax", _softmax(_softmax_fn))
TABLE.add("LogSoftmax", _softmax(_log_softmax_fn))
TABLE.add("Hardmax", _softmax(_hardmax_fn))


@TABLE.register("CumSum")
def cumsum(inputs, attrs):
    x = inputs[0]
    a = int(np.asarray(ints(inputs[1])).reshape(-1)[0]) % x.rank
    n = x.shape[a]
    ax = axis(x, a)
    # a triangular matrix product along the axis (CNTK has no scan op): exact sums of the prefix
    tri = np.tril(np.ones((n, n))) if not attrs.get("reverse", 0) else np.triu(np.ones((n, n)))
    if attrs.get("exclusive", 0):
        tri = tri - np.eye(n)
    perm = list(range(len(x.var.shape)))
    perm[ax], perm[-1] = perm[-1], perm[ax]
    v = C.transpose(x.var, perm) if ax != len(perm) - 1 else x.var
    v = C.times(v, const(tri.T, x.dtype).var)
    v = C.transpose(v, perm) if ax != len(perm) - 1 else v
    return [out(v, x.dtype)]
