"""Reductions, arg-reductions and running sums/products."""

from mxnet import np

from .common import TABLE, ints


def _empty(x, axes, keep, identity):
    """A reduction over an empty set: ONNX's identity value (MXNet refuses or mis-shapes these)."""
    import numpy as onp

    axes = axes if axes is not None else tuple(range(x.ndim))
    shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes)
    dtype = onp.dtype(x.dtype).name
    kind, value = onp.dtype(dtype).kind, identity
    if kind == "b" and identity in (onp.inf, -onp.inf):  # max of nothing: False, min: True
        value = identity > 0
    elif kind in "iu" and identity in (onp.inf, -onp.inf):
        info = onp.iinfo(dtype)
        value = int(info.max if identity > 0 else info.min)
    return np.full(shape, value, dtype=dtype)



def _reduce(fn, post=None, pre=None, identity=None):
    def run(inputs, attrs):
        x = inputs[0]
        axes = attrs.get("axes")
        if axes is None and len(inputs) > 1 and inputs[1] is not None:
            axes = ints(inputs[1])
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0) and axes is not None or \
                    (attrs.get("noop_with_empty_axes", 0) and axes is None):
                return [x]
            axes = None
        axes = tuple(a % x.ndim for a in axes) if axes else None
        if x.size == 0 and identity is not None:
            return [_empty(x, axes, keep, identity)]
        y = x if pre is None else pre(x)
        out = fn(y, axis=axes, keepdims=keep)
        return [(out if post is None else post(out)).astype(x.dtype)]
    return run


_INF = float("inf")
TABLE.add("ReduceSum", _reduce(np.sum, identity=0))
TABLE.add("ReduceMean", _reduce(np.mean))
TABLE.add("ReduceMax", _reduce(np.max, identity=-_INF))
TABLE.add("ReduceMin", _reduce(np.min, identity=_INF))
TABLE.add("ReduceProd", _reduce(np.prod, identity=1))
TABLE.add("ReduceSumSquare", _reduce(np.sum, pre=lambda x: x * x, identity=0))
TABLE.add("ReduceL1", _reduce(np.sum, pre=np.abs, identity=0))
TABLE.add("ReduceL2", _reduce(np.sum, pre=lambda x: x * x, post=np.sqrt, identity=0))
TABLE.add("ReduceLogSum", _reduce(np.sum, post=np.log, identity=-_INF))
TABLE.add("ReduceLogSumExp", _reduce(np.sum, pre=np.exp, post=np.log, identity=-_INF))


def _arg(fn):
    def run(inputs, attrs):
        x = inputs[0]
        axis = attrs.get("axis", 0) % x.ndim
        if attrs.get("select_last_index", 0):
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - fn(flipped, axis=axis).astype("int64")
        else:
            idx = fn(x, axis=axis).astype("int64")
        if attrs.get("keepdims", 1):
            idx = np.expand_dims(idx, axis)
        return [idx]
    return run


TABLE.add("ArgMax", _arg(np.argmax))
TABLE.add("ArgMin", _arg(np.argmin))


def _running(step):
    """CumSum / CumProd: ``step(x, axis, exclusive)`` on the input read in the requested direction."""
    def run(inputs, attrs):
        x = inputs[0]
        axis = int(inputs[1].item()) % x.ndim
        reverse = attrs.get("reverse", 0)
        out = step(np.flip(x, axis=axis) if reverse else x, axis, attrs.get("exclusive", 0))
        return [(np.flip(out, axis=axis) if reverse else out).astype(x.dtype)]
    return run


def _cumsum(x, axis, exclusive):
    out = np.cumsum(x, axis=axis).astype(x.dtype)
    return out - x if exclusive else out


def _cumprod(x, axis, exclusive):
    """A running product of slices: MXNet has no cumprod kernel."""
    if exclusive:  # shift by one along the axis, a 1 entering first
        first = np.ones_like(np.take(x, np.array([0], dtype="int64"), axis=axis))
        rest = np.take(x, np.arange(x.shape[axis] - 1, dtype="int64"), axis=axis)
        x = np.concatenate([first, rest], axis=axis)
    acc, outs = None, []
    for part in np.split(x, x.shape[axis], axis=axis):
        acc = part if acc is None else acc * part
        outs.append(acc)
    return np.concatenate(outs, axis=axis) if outs else x


TABLE.add("CumSum", _running(_cumsum))
TABLE.add("CumProd", _running(_cumprod))
