"""Shape and data-movement ONNX operators on CNTK: reshape, transpose, concat, slice, gather, pad..."""

import cntk as C
import numpy as np

from onnxhub.runtime_side.plans import check_allocation

from .common import TABLE, T, axis, const, ints, out, scalar, value


def _check_static(x, what):
    if x.batch:
        raise NotImplementedError("%s reads axis 0, which is CNTK's batch axis in an imported model" % what)


def reshape_to(x, shape):
    """``x`` reshaped to the full ONNX ``shape`` (whose first dim stays the batch in imported graphs)."""
    shape = [int(d) for d in shape]
    if x.batch:
        if not shape or shape[0] not in (-1, 0, 1):
            raise NotImplementedError("the reshape changes axis 0, which is CNTK's batch axis in an imported model")
        per_sample, rest = tuple(x.var.shape), shape[1:]
        if shape[0] == -1 and all(d > 0 for d in per_sample + tuple(rest)) and \
                int(np.prod(rest, dtype=np.int64)) != int(np.prod(per_sample, dtype=np.int64)):
            raise NotImplementedError("the reshape to %s folds axis 0, CNTK's batch axis in an imported model, into "
                                      "the others" % (shape,))
        shape = rest
    if any(d == 0 for d in shape):
        raise NotImplementedError("CNTK has no zero-sized tensors (shape %s)" % (shape,))
    return T(C.reshape(x.var, tuple(shape)), x.dtype)


def transpose_to(x, perm):
    perm = [p % x.rank for p in perm]
    if x.batch:
        if perm[0] != 0:
            raise NotImplementedError("the transpose moves axis 0, which is CNTK's batch axis in an imported model")
        perm = [p - 1 for p in perm[1:]]
    if perm == sorted(perm):
        return x
    return T(C.transpose(x.var, perm), x.dtype)


@TABLE.register("Reshape", since=5)
def reshape(inputs, attrs):
    x, target = inputs[0], ints(inputs[1])
    shape = list(x.shape)
    if not attrs.get("allowzero", 0):
        target = [shape[i] if d == 0 else d for i, d in enumerate(target)]
    if x.batch:
        target = [-1 if i == 0 else d for i, d in enumerate(target)]
    elif -1 in target:  # resolve it here: CNTK infers -1 only for a single free dim too, but be exact
        known = int(np.prod([d for d in target if d != -1]))
        target = [int(np.prod(shape)) // max(known, 1) if d == -1 else d for d in target]
    return [reshape_to(x, target)]


@TABLE.register("Flatten")
def flatten(inputs, attrs):
    x = inputs[0]
    a = attrs.get("axis", 1) % max(x.rank, 1) if attrs.get("axis", 1) != x.rank else x.rank
    if x.batch:
        if a != 1:
            raise NotImplementedError("Flatten at axis %d mixes CNTK's batch axis with others" % a)
        return [T(C.reshape(x.var, (-1,)), x.dtype)]
    shape = x.shape
    return [reshape_to(x, (int(np.prod(shape[:a])), int(np.prod(shape[a:]))))]


@TABLE.register("Transpose")
def transpose(inputs, attrs):
    x = inputs[0]
    perm = attrs.get("perm") or list(range(x.rank))[::-1]
    return [transpose_to(x, perm)]


def _axes(attrs, inputs, rank):
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        axes = ints(inputs[1])
    return None if axes is None else sorted(a % rank for a in axes)


@TABLE.register("Squeeze")
def squeeze(inputs, attrs):
    x = inputs[0]
    axes = _axes(attrs, inputs, x.rank)
    shape = list(x.shape)
    if axes is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    return [reshape_to(x, [d for i, d in enumerate(shape) if i not in axes])]


@TABLE.register("Unsqueeze")
def unsqueeze(inputs, attrs):
    x = inputs[0]
    rank = x.rank + len(_axes(attrs, inputs, 1 << 30) or [])
    axes = _axes(attrs, inputs, rank)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    if x.batch and axes and axes[0] == 0:
        raise NotImplementedError("Unsqueeze at axis 0 moves CNTK's batch axis in an imported model")
    return [reshape_to(x, shape)]


@TABLE.register("Concat")
def concat(inputs, attrs):
    xs = [x for x in inputs if x is not None and 0 not in x.shape]  # empty pieces add nothing
    first = xs[0]
    if any(x.batch for x in xs) and not all(x.batch for x in xs):
        raise NotImplementedError("Concat of a constant with a batch input (CNTK's batch axis)")
    a = axis(first, attrs["axis"])
    if len(xs) == 1:
        return [first]
    return [out(C.splice(*[x.var for x in xs], axis=a), first.dtype)]


@TABLE.register("Split")
def split(inputs, attrs):
    x = inputs[0]
    n = attrs["_outputs"]
    a = attrs.get("axis", 0)
    ax = axis(x, a)
    size = x.shape[a % x.rank]
    sizes = attrs.get("split")
    if sizes is None and len(inputs) > 1 and inputs[1] is not None:
        sizes = ints(inputs[1])
    if sizes is None:
        chunk = -(-size // n)
        sizes = [min(chunk, size - i * chunk) for i in range(n)]
    outs, start = [], 0
    for s in sizes:
        if s == 0:
            raise NotImplementedError("CNTK has no zero-sized tensors (an empty Split output)")
        outs.append(T(C.slice(x.var, ax, start, start + s), x.dtype))
        start += s
    return outs


def _slice(x, starts, ends, axes, steps):
    v = x.var
    shape = x.shape
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a % x.rank
        dim = shape[a]
        ax = axis(x, a)
        idx = range(*slice(s, e, st).indices(dim))
        if len(idx) == 0:
            raise NotImplementedError("CNTK has no zero-sized tensors (an empty slice)")
        if st > 0:
            v = C.slice(v, ax, idx[0], idx[-1] + 1, strides=st) if st != 1 else C.slice(v, ax, idx[0], idx[-1] + 1)
        else:  # CNTK's slice strides forward only: reversed pieces are gathered
            v = C.gather(v, C.constant(np.array(list(idx), dtype=v.dtype)), axis=ax)
    return T(v, x.dtype)


@TABLE.register("Slice", since=10)
def slice_10(inputs, attrs):
    x, starts, ends = inputs[0], ints(inputs[1]), ints(inputs[2])
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    return [_slice(x, starts, ends, axes, steps)]


@TABLE.register("Slice", until=9)
def slice_1(inputs, attrs):
    starts, ends = attrs["starts"], attrs["ends"]
    axes = attrs.get("axes") or list(range(len(starts)))
    return [_slice(inputs[0], starts, ends, axes, [1] * len(starts))]


@TABLE.register("Shape")
def shape_(inputs, attrs):
    x = inputs[0]
    shape = list(x.shape)
    start, end = attrs.get("start", 0), attrs.get("end")
    part = shape[slice(start, end)]
    if x.batch and -1 in part:
        raise NotImplementedError("Shape reads CNTK's batch axis, whose size is known only when it runs")
    if not part:
        raise NotImplementedError("CNTK has no zero-sized tensors (an empty Shape)")
    return [const(np.array(part, dtype=np.int64))]


@TABLE.register("Size")
def size(inputs, attrs):
    _check_static(inputs[0], "Size")
    return [const(np.array(int(np.prod(inputs[0].shape)), dtype=np.int64))]


@TABLE.register("Expand", since=8)
def expand(inputs, attrs):
    x, shape = inputs[0], ints(inputs[1])
    _check_static(x, "Expand")
    target = np.broadcast(np.empty(x.shape, dtype=np.int8), np.empty(shape, dtype=np.int8)).shape
    if 0 in target:
        raise NotImplementedError("CNTK has no zero-sized tensors (an empty Expand)")
    if tuple(target) == tuple(x.shape):
        return [x]
    zeros = C.constant(0, shape=target, dtype=x.var.dtype)  # broadcasting by adding zeros (exact)
    return [T(C.plus(x.var, zeros), x.dtype)]


@TABLE.register("Tile", since=6)
def tile(inputs, attrs):
    x, reps = inputs[0], ints(inputs[1])
    elements = 1
    for d, r in zip(x.shape, reps):
        elements *= abs(d) * r  # the batch axis (-1) counts once per sample
    check_allocation(elements, np.dtype(x.var.dtype).itemsize, "Tile")  # splicing copies would run on
    v = x.var
    for a, r in enumerate(reps):
        if r == 0:
            raise NotImplementedError("CNTK has no zero-sized tensors (a Tile by 0)")
        if r > 1:
            v = C.splice(*([v] * r), axis=axis(x, a))
    return [T(v, x.dtype)]


def _indices(idx, dim):
    """Gather indices as CNTK values, negative ones counted from the end."""
    v = idx.var
    if isinstance(v, C.variables.Constant):
        return C.constant(np.where(value(idx) < 0, value(idx) + dim, value(idx)).astype(v.dtype))
    return C.element_select(C.less(v, 0), v + dim, v)


@TABLE.register("Gather")
def gather(inputs, attrs):
    x, idx = inputs
    a = attrs.get("axis", 0) % x.rank
    if idx.batch:
        raise NotImplementedError("Gather with indices from CNTK's batch axis")
    if x.batch:
        # CNTK's gather refuses a batched reference when the model runs ("Gather operation's right
        # operand doesn't expect to have dynamic axis"): constant indices are slices spliced instead.
        return [_gather_slices(x, a, idx)]
    ind = _indices(idx, x.shape[a])
    if np.dtype(ind.dtype) != np.dtype(x.var.dtype):
        ind = C.cast(ind, x.var.dtype)
    if 0 in idx.shape:
        raise NotImplementedError("CNTK has no zero-sized tensors (empty Gather indices)")
    ax = axis(x, a)
    if idx.rank == 0:  # CNTK gathers 1-D or more indices: gather one, then drop that axis
        ind = C.reshape(ind, (1,))
    if ax == 0:
        got = C.gather(x.var, ind)  # indices.shape + the rest, as ONNX's axis 0
    else:  # CNTK's axis argument orders the result differently: gather along a moved-first axis
        rank = len(x.var.shape)
        perm = [ax] + [i for i in range(rank) if i != ax]
        got = C.gather(C.transpose(x.var, perm), ind)
        k = len(ind.shape)
        back = list(range(k, k + ax)) + list(range(k)) + list(range(k + ax, k + rank - 1))
        got = C.transpose(got, back)
    y = T(got, x.dtype)
    if idx.rank == 0:
        shape = list(x.shape)
        del shape[a]
        y = reshape_to(y, shape)
    return [y]


MAX_GATHER_SLICES = 4096


def _gather_slices(x, a, idx):
    """Gather along ONNX axis ``a`` of batched ``x`` with constant indices: a splice of one slice per index."""
    ax = axis(x, a)
    try:
        raw = np.asarray(value(idx)).astype(np.int64).reshape(-1)
    except NotImplementedError:
        raise NotImplementedError("Gather with computed indices on a batched tensor (CNTK gathers only "
                                  "unbatched tensors)")
    if raw.size == 0:
        raise NotImplementedError("CNTK has no zero-sized tensors (empty Gather indices)")
    if raw.size > MAX_GATHER_SLICES:
        raise NotImplementedError("Gather of %d indices on a batched tensor (CNTK gathers only unbatched "
                                  "tensors; at most %d are sliced)" % (raw.size, MAX_GATHER_SLICES))
    dim = x.shape[a]
    flat = [int(i) + dim if i < 0 else int(i) for i in raw]
    pieces = [C.slice(x.var, ax, i, i + 1) for i in flat]
    y = T(pieces[0] if len(pieces) == 1 else C.splice(*pieces, axis=ax), x.dtype)
    shape = list(x.shape)
    shape[a:a + 1] = list(idx.shape)
    return y if idx.rank == 1 else reshape_to(y, shape)


@TABLE.register("ConstantOfShape")
def constant_of_shape(inputs, attrs):
    shape = ints(inputs[0])
    fill = attrs.get("value")
    dtype = fill.dtype if fill is not None else "float32"
    v = value(fill).reshape(-1)[0] if fill is not None else 0.0
    if 0 in shape:
        return [const(np.zeros(shape), dtype)]
    return [T(C.constant(float(v), shape=tuple(shape), dtype=np.float32 if dtype in ("float32", "float16")
                         else np.float64), dtype)]


@TABLE.register("Constant")
def constant(inputs, attrs):
    if "value" in attrs:
        return [attrs["value"]]
    for key, dtype in (("value_float", "float32"), ("value_floats", "float32"), ("value_int", "int64"),
                       ("value_ints", "int64")):
        if key in attrs:
            return [const(np.array(attrs[key], dtype=dtype))]
    raise NotImplementedError("Constant with %s" % ", ".join(k for k in attrs if not k.startswith("_")))


@TABLE.register("Range")
def range_(inputs, attrs):
    start, limit, delta = (scalar(t) for t in inputs)
    n = max(int(np.ceil((limit - start) / delta)), 0)
    if n == 0:
        raise NotImplementedError("CNTK has no zero-sized tensors (an empty Range)")
    steps = const(np.arange(n), inputs[0].dtype)  # the counts are metadata; values computed by CNTK
    return [out(steps.var * delta + start, inputs[0].dtype)]


@TABLE.register("Pad", since=11)
def pad_11(inputs, attrs):
    x, pads = inputs[0], ints(inputs[1])
    fill = scalar(inputs[2], 0) if len(inputs) > 2 and inputs[2] is not None else 0
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(x.rank))
    return [_pad(x, pads, axes, attrs.get("mode", "constant"), fill)]


@TABLE.register("Pad", until=10)
def pad_2(inputs, attrs):
    x = inputs[0]
    return [_pad(x, attrs["pads"], list(range(x.rank)), attrs.get("mode", "constant"), attrs.get("value", 0.0))]


_MODES = {"constant": C.CONSTANT_PAD, "reflect": C.REFLECT_PAD}


def _pad(x, pads, axes, mode, fill):
    if mode not in _MODES:
        raise NotImplementedError("Pad mode %r (CNTK pads constant, reflect and symmetric only)" % mode)
    n = len(axes)
    begin, end = [0] * x.rank, [0] * x.rank
    for i, a in enumerate(axes):
        begin[a % x.rank], end[a % x.rank] = pads[i], pads[i + n]
    v = x
    if any(p < 0 for p in begin + end):  # negative pads crop
        starts = [max(-p, 0) for p in begin]
        ends = [d - max(-p, 0) for d, p in zip(x.shape, end)]
        v = _slice(x, starts, ends, list(range(x.rank)), [1] * x.rank)
        begin, end = [max(p, 0) for p in begin], [max(p, 0) for p in end]
    pattern = [(b, e) for b, e in zip(begin, end)]
    if x.batch:
        if pattern[0] != (0, 0):
            raise NotImplementedError("Pad along axis 0, which is CNTK's batch axis in an imported model")
        pattern = pattern[1:]
    if not any(b or e for b, e in pattern):
        return v
    return T(C.pad(v.var, pattern=pattern, mode=_MODES[mode], constant_value=fill), x.dtype)


@TABLE.register("DepthToSpace")
def depth_to_space(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        y = transpose_to(reshape_to(x, (n, b, b, c // (b * b), h, w)), (0, 3, 4, 1, 5, 2))
    else:
        y = transpose_to(reshape_to(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return [reshape_to(y, (n, c // (b * b), h * b, w * b))]


@TABLE.register("SpaceToDepth")
def space_to_depth(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    y = transpose_to(reshape_to(x, (n, c, h // b, b, w // b, b)), (0, 3, 5, 1, 2, 4))
    return [reshape_to(y, (n, c * b * b, h // b, w // b))]


@TABLE.register("EyeLike")
def eye_like(inputs, attrs):
    x = inputs[0]
    _check_static(x, "EyeLike")
    dtype = attrs.get("dtype_name") or x.dtype
    return [const(np.eye(x.shape[0], x.shape[1], k=attrs.get("k", 0)), dtype)]
