"""Shape and data-movement ONNX operators: reshapes, transposes, concat/split, slices, gathers, tiles.

Target shapes, slice bounds and index grids are metadata worked out from shapes and
attribute/input values; the data itself always moves through a Caffe2 operator.
"""

import numpy as np

from onnxhub.runtime_side.plans import check_allocation

from .common import TABLE, axes_of, c1, c2, cast, ints
from .elementwise import expand, widened


def reshape(x, shape):
    """``x`` in ``shape`` by Caffe2's Reshape (a 0-d result comes back 1-element, reshaped as metadata)."""
    shape = tuple(int(d) for d in shape)
    if x.dtype == np.object_:
        raise NotImplementedError("strings")
    out = c2("Reshape", [x], 2, shape=list(shape) or [1])[0]
    return out.reshape(shape)


def _target(x, shape, allowzero=0):
    shape = list(shape)
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            shape[i] = x.shape[i]
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        shape[shape.index(-1)] = x.size // known if known else 0
    return shape


@TABLE.register("Reshape", since=5)
def reshape_5(inputs, attrs):
    x = inputs[0]
    return [reshape(x, _target(x, ints(inputs[1]), attrs.get("allowzero", 0)))]


@TABLE.register("Flatten")
def flatten(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return [reshape(x, (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))))]


@TABLE.register("Squeeze")
def squeeze(inputs, attrs):
    x = inputs[0]
    axes = axes_of(attrs.get("axes"), inputs[1] if len(inputs) > 1 else None, x.ndim)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    return [reshape(x, [d for i, d in enumerate(x.shape) if i not in axes])]


@TABLE.register("Unsqueeze")
def unsqueeze(inputs, attrs):
    x = inputs[0]
    rank = x.ndim + len(attrs.get("axes") or ints(inputs[1]) if len(inputs) > 1 else attrs.get("axes"))
    axes = sorted(axes_of(attrs.get("axes"), inputs[1] if len(inputs) > 1 else None, rank))
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return [reshape(x, shape)]


@TABLE.register("Transpose")
def transpose(inputs, attrs):
    x = inputs[0]
    perm = attrs.get("perm") or list(range(x.ndim))[::-1]
    if x.ndim < 2:
        return [c1("Copy", [x]).reshape(x.shape)]
    return [c1("Transpose", [widened(x)], axes=list(perm)).astype(x.dtype, copy=False)
            if x.dtype == widened(x).dtype else cast(c1("Transpose", [widened(x)], axes=list(perm)), x.dtype)]


@TABLE.register("Concat")
def concat(inputs, attrs):
    xs = [x for x in inputs if x is not None]
    axis = attrs["axis"] % xs[0].ndim
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    parts = [x for x in xs if x.size]
    if not parts:
        return [reshape(xs[0], shape)] if not xs[0].size and shape == list(xs[0].shape) else [c1("Copy", [xs[0]])]
    return [c2("Concat", parts, 2, axis=axis)[0].reshape(shape)]


@TABLE.register("Split")
def split(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 0) % x.ndim
    n = attrs["_outputs"]
    sizes = attrs.get("split") or (ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None)
    if sizes is None:
        size = x.shape[axis]
        chunk = -(-size // n) if attrs.get("num_outputs") else size // n
        sizes = [chunk] * (n - 1) + [size - chunk * (n - 1)]
    return c2("Split", [x], len(sizes), axis=axis, split=list(sizes))


def gather(x, indices, axis):
    """Caffe2's Gather (wraps negative indices) along ``axis``."""
    shape = x.shape[:axis] + indices.shape + x.shape[axis + 1:]
    if x.size == 0 or indices.size == 0:
        return np.zeros(shape, x.dtype)  # nothing to move
    return c1("Gather", [x, indices.astype(np.int64) if indices.dtype == np.int32 else indices],
              axis=axis).reshape(shape)


@TABLE.register("Gather")
def gather_(inputs, attrs):
    x, idx = inputs
    return [gather(x, idx, attrs.get("axis", 0) % x.ndim)]


def _bounds(dim, start, end, step):
    """ONNX Slice bounds for one axis, clamped as ONNX says: the indices taken (metadata)."""
    return list(range(dim))[slice(start, end, step)] if step else []


@TABLE.register("Slice", since=10)
def slice_10(inputs, attrs):
    x = inputs[0]
    starts, ends = ints(inputs[1]), ints(inputs[2])
    axes = axes_of(None, inputs[3] if len(inputs) > 3 else None, x.ndim) or list(range(len(starts)))
    steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    return [slice_(x, starts, ends, axes, steps)]


@TABLE.register("Slice", until=9)
def slice_1(inputs, attrs):
    x = inputs[0]
    starts, ends = attrs["starts"], attrs["ends"]
    axes = [a % x.ndim for a in attrs.get("axes") or range(len(starts))]
    return [slice_(x, starts, ends, axes, [1] * len(starts))]


def slice_(x, starts, ends, axes, steps):
    """Caffe2's Slice for unit steps; other steps gather the indices they take along their axis."""
    c_starts, c_ends = [0] * x.ndim, [-1] * x.ndim
    strided = []
    for s, e, a, st in zip(starts, ends, axes, steps):
        taken = _bounds(x.shape[a], s, e, st)
        if st == 1:
            c_starts[a], c_ends[a] = (taken[0], taken[-1] + 1) if taken else (0, 0)
        else:
            strided.append((a, taken))
    shape = list(x.shape)
    for a in range(x.ndim):
        shape[a] = (c_ends[a] if c_ends[a] >= 0 else x.shape[a]) - c_starts[a]
    if any(d == 0 for d in shape):
        out = np.zeros(shape, x.dtype)
    else:  # Caffe2's Slice cuts one axis at a time
        out = x
        for a in range(x.ndim):
            if c_starts[a] != 0 or c_ends[a] not in (-1, x.shape[a]):
                starts, ends = [0] * x.ndim, [-1] * x.ndim
                starts[a], ends[a] = c_starts[a], c_ends[a]
                out = c1("Slice", [out], starts=starts, ends=ends)
        out = c1("Copy", [out]).reshape(shape) if out is x else out.reshape(shape)
    for a, taken in strided:
        out = gather(out, np.array(taken, np.int64), a)
    return out


@TABLE.register("Expand")
def expand_(inputs, attrs):
    x = inputs[0]
    shape = tuple(np.broadcast_shapes(x.shape, tuple(ints(inputs[1]))))
    return [expand(x, shape) if x.shape != shape else c1("Copy", [x]).reshape(shape)]


@TABLE.register("Tile")
def tile(inputs, attrs):
    """Caffe2's Tile, one axis at a time."""
    x = inputs[0]
    for axis, n in enumerate(ints(inputs[1])):
        if n != 1:
            shape = list(x.shape)
            shape[axis] *= n
            x = c1("Tile", [x], tiles=n, axis=axis).reshape(shape)
    return [x]


@TABLE.register("Shape")
def shape_(inputs, attrs):
    """Caffe2's Shape, then ONNX's start/end by Caffe2's Slice."""
    x = inputs[0]
    dims = c1("Shape", [x]).reshape(x.ndim) if x.ndim else np.zeros((0,), np.int64)
    start, end = attrs.get("start", 0), attrs.get("end")
    taken = _bounds(x.ndim, start, end, 1)
    if taken == list(range(x.ndim)):
        return [dims]
    if not taken:
        return [np.zeros((0,), np.int64)]
    return [c1("Slice", [dims], starts=[taken[0]], ends=[taken[-1] + 1])]


@TABLE.register("Size")
def size(inputs, attrs):
    return [c1("Size", [inputs[0]]).reshape(())]


@TABLE.register("Constant")
def constant(inputs, attrs):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            value = attrs[key]
            if not isinstance(value, np.ndarray):
                value = np.array(value, np.float32 if "float" in key else np.int64)
            return [value]
    raise NotImplementedError("a Constant of strings or sparse values")


@TABLE.register("ConstantOfShape")
def constant_of_shape(inputs, attrs):
    """Caffe2's ConstantFill of the shape (Caffe2 dtype from the value's)."""
    value = attrs.get("value")
    value = value if value is not None else np.zeros(1, np.float32)
    shape = ints(inputs[0])
    if 0 in shape:
        return [np.zeros(shape, value.dtype)]
    out = expand(value.reshape(-1)[:1].reshape([1] * len(shape)) if shape else value.reshape(-1)[:1], shape or [1])
    return [out.reshape(shape)]


@TABLE.register("Range")
def range_(inputs, attrs):
    start, limit, delta = inputs
    if start.dtype.name not in ("float32", "float64", "int32", "int64"):
        raise NotImplementedError(start.dtype.name)
    count = max(int(np.ceil((limit.item() - start.item()) / delta.item())), 0) if delta.item() else 0
    if count > 2**31 - 1:  # Caffe2 counts in int: more wraps into an empty tensor
        raise NotImplementedError("a Range of %d elements (Caffe2's Range makes at most 2^31 - 1)" % count)
    check_allocation(count, start.dtype.itemsize, "Range")
    return [c1("Range", [start.reshape(()), limit.reshape(()), delta.reshape(())])]


@TABLE.register("DepthToSpace")
def depth_to_space(inputs, attrs):
    """Reshape, Transpose, Reshape with Caffe2's ops (DCR or CRD order)."""
    x = inputs[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        t = transpose([reshape(x, (n, b, b, c // (b * b), h, w))], {"perm": [0, 3, 4, 1, 5, 2]})[0]
    else:
        t = transpose([reshape(x, (n, c // (b * b), b, b, h, w))], {"perm": [0, 1, 4, 2, 5, 3]})[0]
    return [reshape(t, (n, c // (b * b), h * b, w * b))]


@TABLE.register("SpaceToDepth")
def space_to_depth(inputs, attrs):
    x = inputs[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    t = transpose([reshape(x, (n, c, h // b, b, w // b, b))], {"perm": [0, 3, 5, 1, 2, 4]})[0]
    return [reshape(t, (n, c * b * b, h // b, w // b))]


def _linear(shape, axis, idx):
    """Flat offsets into ``shape`` with ``idx`` (Caffe2-wrapped) on ``axis``: Caffe2 arithmetic
    on the index values, numpy only for the other axes' offsets (shape metadata)."""
    dim = shape[axis]
    idx = cast(idx, "int64")
    neg = cast(c1("LT", [idx, np.zeros(1, np.int64)]), "int64")
    wrapped = c1("Add", [idx, c1("Mul", [neg, np.array([dim], np.int64)])]).reshape(idx.shape)
    strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
    grid = np.indices(idx.shape).astype(np.int64)
    base = np.zeros(idx.shape, np.int64) + sum(grid[i] * strides[i] for i in range(len(shape)) if i != axis)
    return c1("Add", [c1("Mul", [wrapped, np.array([strides[axis]], np.int64)]), base]).reshape(idx.shape)


@TABLE.register("GatherElements")
def gather_elements(inputs, attrs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % x.ndim
    flat = reshape(x, (x.size,))
    return [gather(flat, _linear(x.shape, axis, idx), 0)]


@TABLE.register("ScatterElements", "Scatter")
def scatter_elements(inputs, attrs):
    """Caffe2's ScatterAssign on the flat data (reduction none) or ScatterWeightedSum (add)."""
    x, idx, upd = inputs
    axis = attrs.get("axis", 0) % x.ndim
    lin = reshape(_linear(x.shape, axis, idx), (idx.size,))
    flat, vals = reshape(x, (x.size,)), reshape(upd, (upd.size,))
    red = attrs.get("reduction", "none")
    if red == "none":
        out = c1("ScatterAssign", [flat, lin, vals], inplace=True)
    elif red == "add" and x.dtype == np.float32:
        one = np.ones(1, np.float32)
        out = c1("ScatterWeightedSum", [flat, one, lin, vals, one], inplace=True)
    else:
        raise NotImplementedError("reduction %s" % red)
    return [out.reshape(x.shape)]


def _nd_linear(x, idx, batch_dims=0):
    """GatherND/ScatterND row offsets into x viewed as [prod(shape[:k]), rest]: Caffe2 arithmetic."""
    k = idx.shape[-1]
    if batch_dims:
        raise NotImplementedError("batch_dims")
    idx = cast(idx, "int64")
    dims = np.array(x.shape[:k], np.int64)
    neg = cast(c1("LT", [idx, np.zeros(1, np.int64)]), "int64")
    wrapped = c1("Add", [idx, c1("Mul", [neg, dims])]).reshape(idx.shape)
    strides = np.array([int(np.prod(x.shape[i + 1:k])) for i in range(k)], np.int64)
    rows = c1("ReduceSum", [c1("Mul", [wrapped, strides])], axes=[idx.ndim - 1], keepdims=0)
    return rows.reshape(idx.shape[:-1]), k


@TABLE.register("GatherND")
def gather_nd(inputs, attrs):
    x, idx = inputs
    rows, k = _nd_linear(x, idx, attrs.get("batch_dims", 0))
    table = reshape(x, (int(np.prod(x.shape[:k])),) + x.shape[k:])
    return [gather(table, rows, 0)]


@TABLE.register("ScatterND")
def scatter_nd(inputs, attrs):
    x, idx, upd = inputs
    if attrs.get("reduction", "none") != "none":
        raise NotImplementedError("reduction")
    rows, k = _nd_linear(x, idx)
    table = reshape(x, (int(np.prod(x.shape[:k])),) + x.shape[k:])
    vals = reshape(upd, (rows.size,) + x.shape[k:])
    out = c1("ScatterAssign", [table, reshape(rows, (rows.size,)), vals], inplace=True)
    return [out.reshape(x.shape)]


@TABLE.register("Pad", since=11)
def pad_11(inputs, attrs):
    x = inputs[0]
    pads = ints(inputs[1])
    value = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    axes = axes_of(None, inputs[3] if len(inputs) > 3 else None, x.ndim) or list(range(x.ndim))
    full = [0] * (2 * x.ndim)
    for i, a in enumerate(axes):
        full[a], full[a + x.ndim] = pads[i], pads[i + len(axes)]
    return [pad(x, full, attrs.get("mode", "constant"), value)]


@TABLE.register("Pad", until=10)
def pad_2(inputs, attrs):
    x = inputs[0]
    return [pad(x, attrs["pads"], attrs.get("mode", "constant"), np.array(attrs.get("value", 0.0), x.dtype))]


def pad(x, pads, mode, value):
    """Constant padding: a Caffe2 fill of the padded shape with the interior copied in by Caffe2's
    Concat along each axis; edge/reflect by Caffe2 Gather with the source indices (metadata)."""
    n = x.ndim
    for a in range(n):
        lo, hi = pads[a], pads[a + n]
        if lo == 0 and hi == 0:
            continue
        if lo < 0 or hi < 0:  # negative pads crop
            x = slice_(x, [max(-lo, 0)], [x.shape[a] - max(-hi, 0)], [a], [1])
            lo, hi = max(lo, 0), max(hi, 0)
            if lo == 0 and hi == 0:
                continue
        size = x.shape[a]
        if mode == "constant":
            parts = []
            for width in (lo, hi):
                shape = list(x.shape)
                shape[a] = width
                fill = value.reshape(-1)[:1] if value is not None else np.zeros(1, x.dtype)
                parts.append(expand(cast(fill, x.dtype).reshape([1] * n), shape) if width else None)
            x = concat([p for p in (parts[0], x, parts[1]) if p is not None], {"axis": a})[0]
            continue
        if mode == "edge":
            src = [0] * lo + list(range(size)) + [size - 1] * hi
        elif mode == "reflect":
            src = [(lo - i) for i in range(lo)] + list(range(size)) + [size - 2 - i for i in range(hi)]
        elif mode == "wrap":
            src = [(i - lo) % size for i in range(lo + size + hi)]
        else:
            raise NotImplementedError(mode)
        x = gather(x, np.array(src, np.int64), a)
    return x if x.base is None else c1("Copy", [x]).reshape(x.shape)


@TABLE.register("Trilu")
def trilu(inputs, attrs):
    """A 0/1 band mask (from the shape and k: metadata) applied by Caffe2's Where."""
    x = inputs[0]
    k = int(ints(inputs[1])[0]) if len(inputs) > 1 and inputs[1] is not None else 0
    n, m = x.shape[-2:]
    rows, cols = np.indices((n, m))
    keep = (cols - rows >= k) if attrs.get("upper", 1) else (cols - rows <= k)
    if x.size == 0:
        return [x]
    zero = np.zeros(x.shape, x.dtype)
    return [c1("Where", [np.broadcast_to(keep, x.shape), widened(x), widened(zero)]).reshape(x.shape).astype(
        x.dtype, copy=False)]


@TABLE.register("EyeLike")
def eye_like(inputs, attrs):
    x = inputs[0]
    dtype = attrs.get("dtype_name") or x.dtype.name
    n, m = x.shape
    rows, cols = np.indices((n, m))
    mask = (cols - rows) == attrs.get("k", 0)
    return [cast(c1("Cast", [mask], to=1), dtype).reshape(n, m)]


@TABLE.register("OneHot")
def one_hot(inputs, attrs):
    """(indices wrapped) == arange(depth) by Caffe2's EQ, then Where between the off/on values."""
    idx, depth, values = inputs
    d = int(np.asarray(depth).reshape(-1)[0])
    axis = attrs.get("axis", -1) % (idx.ndim + 1)
    idx = cast(idx, "int64") if idx.dtype.kind in "iu" else cast(c1("Floor", [idx]).reshape(idx.shape), "int64")
    neg = cast(c1("LT", [idx, np.zeros(1, np.int64)]), "int64")
    wrapped = c1("Add", [idx, c1("Mul", [neg, np.array([d], np.int64)])]).reshape(idx.shape)
    shape = list(idx.shape)
    shape.insert(axis, 1)
    ar = [1] * len(shape)
    ar[axis] = d
    full = list(idx.shape)
    full.insert(axis, d)
    hot = c1("EQ", [expand(reshape(wrapped, shape), full), np.arange(d, dtype=np.int64).reshape(ar)])
    on = expand(values[1:2].reshape([1] * len(full)), full)
    off = expand(values[0:1].reshape([1] * len(full)), full)
    return [c1("Where", [hot.reshape(full), on, off]).reshape(full)]


@TABLE.register("Compress")
def compress(inputs, attrs):
    """Caffe2's BooleanMask on the axis moved first (the flattened input without an axis)."""
    x, cond = inputs
    cond = cast(cond, "bool").reshape(-1)
    axis = attrs.get("axis")
    if axis is None:
        x, axis = reshape(x, (x.size,)), 0
    axis %= x.ndim
    n = min(cond.size, x.shape[axis])
    if n < x.shape[axis]:
        x = slice_(x, [0], [n], [axis], [1])
    cond = cond[:n]
    perm = list(range(x.ndim))
    perm[0], perm[axis] = perm[axis], perm[0]
    t = transpose([x], {"perm": perm})[0] if axis else x
    kept = c2("BooleanMask", [t, cond], 2)[0]
    kept = kept.reshape((-1,) + t.shape[1:])
    return [transpose([kept], {"perm": perm})[0] if axis else kept]


@TABLE.register("CenterCropPad")
def center_crop_pad(inputs, attrs):
    """Per axis: crop the centre (Caffe2 Slice) or pad around it (Caffe2 Concat with zeros), as ONNX centres."""
    x = inputs[0]
    shape = ints(inputs[1])
    axes = [a % x.ndim for a in attrs.get("axes") or range(x.ndim)]
    for a, size in zip(axes, shape):
        dim = x.shape[a]
        if size < dim:
            start = (dim - size) // 2
            x = slice_(x, [start], [start + size], [a], [1])
        elif size > dim:
            lo = (size - dim) // 2
            pads = [0] * (2 * x.ndim)
            pads[a], pads[a + x.ndim] = lo, size - dim - lo
            x = pad(x, pads, "constant", np.zeros(1, x.dtype))
    return [x if x.base is None else c1("Copy", [x]).reshape(x.shape)]


@TABLE.register("ReverseSequence")
def reverse_sequence(inputs, attrs):
    """Each batch entry's first ``len`` steps reversed: one Caffe2 Gather of the flat input with the
    source offsets (a function of the lengths and the shape)."""
    x, lens = inputs
    t_axis, b_axis = attrs.get("time_axis", 0), attrs.get("batch_axis", 1)
    lens = [int(v) for v in np.asarray(lens).reshape(-1)]
    grid = np.indices(x.shape)
    t, b = grid[t_axis], grid[b_axis]
    n = np.array(lens)[b]
    src_t = np.where(t < n, n - 1 - t, t)
    grid[t_axis] = src_t
    strides = [int(np.prod(x.shape[i + 1:])) for i in range(x.ndim)]
    offsets = sum(grid[i] * strides[i] for i in range(x.ndim)).astype(np.int64)
    return [gather(reshape(x, (x.size,)), offsets, 0)]
