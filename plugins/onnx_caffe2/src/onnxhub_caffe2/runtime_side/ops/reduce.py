"""Reductions, arg-reductions, TopK and CumSum on Caffe2's kernels (ReduceSum/Mean/Max/Min/L1/L2, ArgMax...)."""

import numpy as np

from .common import TABLE, axes_of, c1, c2, cast
from .elementwise import binary, unary


def _axes(inputs, attrs, x):
    """The reduced axes; None: reduce nothing (noop_with_empty_axes) -- [] means all."""
    axes = axes_of(attrs.get("axes"), inputs[1] if len(inputs) > 1 else None, x.ndim)
    if not axes:
        return None if attrs.get("noop_with_empty_axes", 0) else list(range(x.ndim))
    return sorted(set(axes))


def reduce(op, x, axes, keepdims):
    """Caffe2's Reduce* over ``axes``; empty tensors and 0-d results shaped as ONNX says (metadata)."""
    shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
        [d for i, d in enumerate(x.shape) if i not in axes]
    if x.ndim == 0:
        return c1("Copy", [x]).reshape(())
    if x.size == 0:
        raise NotImplementedError("a reduction of an empty tensor")
    wide = x if x.dtype.name in ("float32",) or op in ("ReduceSum",) and x.dtype.name in (
        "int32", "int64", "float64") else cast(x, "float32")
    out = c1(op, [wide], axes=list(axes), keepdims=1 if keepdims else 0).reshape(shape)
    return cast(out, x.dtype)


def _reducer(op, pre=None, post=None):
    def run(inputs, attrs):
        x = inputs[0]
        axes = _axes(inputs, attrs, x)
        if axes is None:
            return [pre(x) if pre else c1("Copy", [x]).reshape(x.shape)]
        y = reduce(op, pre(x) if pre else x, axes, attrs.get("keepdims", 1))
        return [post(y) if post else y]
    return run


def _sqr(x):
    return binary("Mul", x, x)


def _abs(x):
    return unary("Abs", x)


for _name, _op, _pre, _post, _axes_input in [
        ("ReduceSum", "ReduceSum", None, None, 13), ("ReduceMean", "ReduceMean", None, None, 18),
        ("ReduceMax", "ReduceMax", None, None, 18), ("ReduceMin", "ReduceMin", None, None, 18),
        ("ReduceSumSquare", "ReduceSum", _sqr, None, 18), ("ReduceL1", "ReduceSum", _abs, None, 18),
        ("ReduceL2", "ReduceSum", _sqr, lambda y: unary("Sqrt", y), 18),
        ("ReduceLogSum", "ReduceSum", None, lambda y: unary("Log", y), 18)]:
    TABLE.add(_name, _reducer(_op, _pre, _post))


@TABLE.register("ReduceLogSumExp")
def reduce_log_sum_exp(inputs, attrs):
    """max + log(sum(exp(x - max))): Caffe2 ops, stable for large inputs."""
    x = inputs[0]
    axes = _axes(inputs, attrs, x)
    if axes is None:
        return [c1("Copy", [x]).reshape(x.shape)]
    m = reduce("ReduceMax", x, axes, 1)
    s = reduce("ReduceSum", unary("Exp", binary("Sub", x, m)), axes, 1)
    y = binary("Add", unary("Log", s), m)
    if not attrs.get("keepdims", 1):
        y = y.reshape([d for i, d in enumerate(x.shape) if i not in axes])
    return [y]


def _arg(op):
    def run(inputs, attrs):
        x = inputs[0]
        axis = attrs.get("axis", 0) % x.ndim
        keep = attrs.get("keepdims", 1)
        shape = [1 if i == axis else d for i, d in enumerate(x.shape)] if keep else \
            [d for i, d in enumerate(x.shape) if i != axis]
        if attrs.get("select_last_index", 0):  # the last extreme: the first one of the reversed axis
            rev = np.arange(x.shape[axis] - 1, -1, -1, dtype=np.int64)
            from .shape import gather
            first = c1(op, [gather(x, rev, axis)], axis=axis, keepdims=1).reshape(shape)
            return [c1("Sub", [np.array([x.shape[axis] - 1], np.int64), first]).reshape(shape)]
        wide = x if x.dtype.name in ("float32", "int32", "int64", "float64") else cast(x, "float32")
        return [c1(op, [wide], axis=axis, keepdims=keep).reshape(shape)]
    return run


TABLE.add("ArgMax", _arg("ArgMax"))
TABLE.add("ArgMin", _arg("ArgMin"))


@TABLE.register("TopK")
def top_k(inputs, attrs):
    """Caffe2's TopK works on the last axis, largest first: the axis moved last, negation for smallest."""
    from .shape import transpose
    x = inputs[0]
    k = int(np.asarray(inputs[1]).reshape(-1)[0]) if len(inputs) > 1 else attrs["k"]
    axis = attrs.get("axis", -1) % x.ndim
    perm = list(range(x.ndim))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    t = transpose([x], {"perm": perm})[0] if axis != x.ndim - 1 else x
    largest = attrs.get("largest", 1)
    src = cast(t, "float32")  # Caffe2's TopK holds float32: indices from it, values gathered exactly
    idx = c2("TopK", [src if largest else unary("Negative", src)], 3, k=k)[1]
    from .shape import _linear, gather, reshape
    vals = gather(reshape(t, (t.size,)), _linear(t.shape, t.ndim - 1, idx), 0) if idx.size else \
        np.zeros(idx.shape, t.dtype)
    if axis != x.ndim - 1:
        vals, idx = transpose([vals], {"perm": perm})[0], transpose([idx], {"perm": perm})[0]
    return [vals, idx]


@TABLE.register("CumSum")
def cumsum(inputs, attrs):
    """A lower-triangular 0/1 matrix (metadata from the length) times x along the axis by Caffe2 MatMul."""
    from .nn import _last
    x = inputs[0]
    axis = int(np.asarray(inputs[1]).reshape(-1)[0]) % x.ndim
    n = x.shape[axis]
    i, j = np.indices((n, n))
    keep = (i < j) if attrs.get("exclusive", 0) else (i <= j)
    if attrs.get("reverse", 0):
        keep = keep.T
    tri = keep.astype(np.float64)

    def run(t):
        lead = t.shape[:-1]
        flat = c2("Reshape", [cast(t, "float64")], 2, shape=[-1, n])[0]
        out = c1("MatMul", [cast(flat, "float32"), cast(tri, "float32")]) if t.dtype.name == "float32" else \
            cast(c1("MatMul", [cast(flat, "float32"), cast(tri, "float32")]), "float64")
        return cast(out, t.dtype).reshape(lead + (n,))
    return [_last(x, axis, run)]


def _columns(x, axis):
    """The slices of ``x`` along ``axis`` (Caffe2's Gather), each keeping the axis with length 1."""
    from .shape import gather

    return [gather(x, np.array([i], np.int64), axis) for i in range(x.shape[axis])]


@TABLE.register("ReduceProd")
def reduce_prod(inputs, attrs):
    """A product of the slices along each reduced axis by Caffe2's Mul (Caffe2 has no product reduction)."""
    x = inputs[0]
    axes = _axes(inputs, attrs, x)
    if axes is None:
        return [c1("Copy", [x]).reshape(x.shape) if x.size else x]
    if x.size == 0:
        raise NotImplementedError("a product of an empty tensor")
    y = x
    for a in axes:
        cols = _columns(y, a)
        out = cols[0]
        for col in cols[1:]:
            out = binary("Mul", out, col)
        y = out
    if not attrs.get("keepdims", 1):
        y = y.reshape([d for i, d in enumerate(y.shape) if i not in axes])
    return [y]


@TABLE.register("CumProd")
def cumprod(inputs, attrs):
    """Running products of the slices along the axis by Caffe2's Mul, joined by Caffe2's Concat."""
    from .shape import concat

    x = inputs[0]
    axis = int(np.asarray(inputs[1]).reshape(-1)[0]) % x.ndim
    cols = _columns(x, axis)
    if attrs.get("reverse", 0):
        cols = cols[::-1]
    outs, acc = [], None
    for col in cols:
        if attrs.get("exclusive", 0):
            one = 1 if x.dtype.kind in "iu" else 1.0  # Caffe2 reads an int fill's value as an int
            outs.append(c1("ConstantFill", [col], value=one, dtype=_C2_DTYPE.get(x.dtype.name, 1)).reshape(col.shape)
                        if acc is None else acc)
            acc = col if acc is None else binary("Mul", acc, col)
        else:
            acc = col if acc is None else binary("Mul", acc, col)
            outs.append(acc)
    if attrs.get("reverse", 0):
        outs = outs[::-1]
    return [concat(outs, {"axis": axis})[0]]


_C2_DTYPE = {"float32": 1, "int32": 2, "int64": 10, "float64": 13}
