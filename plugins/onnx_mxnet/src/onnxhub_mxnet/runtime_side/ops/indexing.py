"""Gathering and selecting by index; one-hot; top-k; triangles."""

from mxnet import np, npx

from .common import TABLE


def _gather(take):
    """Gather / GatherElements: ``take(x, idx, axis)`` with negative indices counted from the end."""
    def run(inputs, attrs):
        x, idx = inputs
        axis = attrs.get("axis", 0) % x.ndim
        n = x.shape[axis]
        if idx.size and (int(idx.max()) >= n or int(idx.min()) < -n):  # MXNet would clip, ONNX forbids
            raise IndexError("index %d is out of range [-%d, %d) on axis %d"
                             % (int(idx.max()) if int(idx.max()) >= n else int(idx.min()), n, n, axis))
        return [take(x, np.where(idx < 0, idx + n, idx), axis=axis)]
    return run


TABLE.add("Gather", _gather(np.take))
TABLE.add("GatherElements", _gather(np.take_along_axis))


@TABLE.register("Trilu")
def trilu(inputs, attrs):
    x = inputs[0]
    k = int(inputs[1].item()) if len(inputs) > 1 and inputs[1] is not None else 0
    rows, cols = x.shape[-2], x.shape[-1]
    i = np.arange(rows, dtype="int64").reshape(rows, 1)
    j = np.arange(cols, dtype="int64").reshape(1, cols)
    keep = (j - i >= k) if attrs.get("upper", 1) else (j - i <= k)
    return [np.where(keep, x, np.zeros_like(x))]


@TABLE.register("TopK")
def topk(inputs, attrs):
    x, k = inputs[0], int(inputs[1].item())
    axis = attrs.get("axis", -1) % x.ndim
    largest = attrs.get("largest", 1)
    values, idx = npx.topk(x, axis=axis, k=k, ret_typ="both", is_ascend=not largest, dtype="int64")
    return [values, idx]


@TABLE.register("OneHot")
def one_hot(inputs, attrs):
    idx, depth, values = inputs
    d = int(depth.item())
    axis = attrs.get("axis", -1)
    idx = np.where(idx < 0, idx + d, idx)
    oh = npx.one_hot(idx.astype("int64"), d, on_value=1.0, off_value=0.0, dtype="float64")
    out = oh * (values[1] - values[0]).astype("float64") + values[0].astype("float64")
    if axis != -1:
        out = np.moveaxis(out, -1, axis % out.ndim)
    return [out.astype(values.dtype)]


@TABLE.register("GatherND")
def gather_nd(inputs, attrs):
    x, idx = inputs
    if attrs.get("batch_dims", 0):
        raise NotImplementedError("GatherND with batch_dims")
    idx = np.where(idx < 0, idx + np.array(x.shape[:idx.shape[-1]], dtype="int64"), idx)
    moved = np.moveaxis(idx, -1, 0)  # MXNet's gather_nd wants the index tuple first
    return [npx.gather_nd(x, moved)]


@TABLE.register("Compress")
def compress(inputs, attrs):
    x, cond = inputs
    axis = attrs.get("axis")
    if axis is None:
        x, axis = x.reshape(-1), 0
    keep = np.nonzero(cond)[0]
    keep = keep[keep < x.shape[axis]]
    return [np.take(x, keep, axis=axis)]


@TABLE.register("NonZero")
def nonzero(inputs, attrs):
    x = inputs[0]
    idx = np.nonzero(x.reshape(1, -1) if x.ndim == 0 else x)
    return [np.stack([i.astype("int64") for i in idx], axis=0)]


_REDUCE = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "max": np.maximum, "min": np.minimum}


def _scatter_into(data, targets, updates, reduction):
    """``data`` (flat) with ``updates`` (flat, one per target) written at ``targets`` (host ints).

    Without a reduction and without repeated targets one indexed assignment does it;
    otherwise the updates apply in order, each with MXNet's kernel for the reduction.
    """
    out = data.copy()
    if reduction in (None, "none") and len(set(targets)) == len(targets):
        if targets:
            out[np.array(targets, dtype="int64")] = updates
        return out
    combine = _REDUCE.get(reduction)
    for i, t in enumerate(targets):
        out[t] = updates[i] if combine is None else combine(out[t], updates[i])
    return out


def _scatter_elements(inputs, attrs):
    """ScatterElements (and Scatter, its old name): flat targets from the indices (metadata)."""
    import numpy as onp

    data, idx, updates = inputs
    axis = attrs.get("axis", 0) % data.ndim
    index = idx.asnumpy().astype("int64")
    index = onp.where(index < 0, index + data.shape[axis], index)
    coords = list(onp.indices(index.shape))
    coords[axis] = index
    targets = onp.ravel_multi_index(tuple(coords), data.shape).reshape(-1).tolist()
    flat = _scatter_into(data.reshape(-1), targets, updates.reshape(-1), attrs.get("reduction"))
    return [flat.reshape(data.shape)]


TABLE.add("ScatterElements", _scatter_elements, since=11)
TABLE.add("Scatter", _scatter_elements, until=10)


@TABLE.register("ScatterND")
def scatter_nd(inputs, attrs):
    """ScatterND: each index tuple names a slice of ``data``; slices are rows of the reshaped data."""
    import numpy as onp

    data, idx, updates = inputs
    index = idx.asnumpy().astype("int64")
    k = index.shape[-1]
    lead = data.shape[:k]
    index = index.reshape(-1, k)
    index = onp.where(index < 0, index + onp.array(lead, dtype="int64"), index)
    targets = onp.ravel_multi_index(tuple(index.T), lead).tolist() if k else [0] * len(index)
    rows = 1
    for d in lead:
        rows *= d
    width = 1
    for d in data.shape[k:]:
        width *= d
    out = _scatter_into(data.reshape(rows, width), targets, updates.reshape(-1, width), attrs.get("reduction"))
    return [out.reshape(data.shape)]


@TABLE.register("Unique", since=11)
def unique(inputs, attrs):
    """MXNet's unique (sorted); ``sorted=0`` reorders by first occurrence with MXNet's argsort."""
    x = inputs[0]
    axis = attrs.get("axis")
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    else:
        axis = axis % x.ndim
    y, first, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True,
                                          axis=axis if x.ndim > 1 else None)
    if not attrs.get("sorted", 1):
        order = np.argsort(first).astype("int64")
        y = np.take(y, order, axis=axis)
        first, counts = np.take(first, order), np.take(counts, order)
        inverse = np.take(np.argsort(order).astype("int64"), inverse)
    return [y.astype(x.dtype), first.astype("int64"), inverse.reshape(-1).astype("int64"), counts.astype("int64")]


@TABLE.register("TensorScatter", since=24)
def tensor_scatter(inputs, attrs):
    """A KV-cache write: each batch's update rows go to its write index on ``axis`` (wrapping when
    circular), as one ScatterND-style assignment of slices."""
    import numpy as onp

    cache, update = inputs[0], inputs[1]
    where = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    axis = attrs.get("axis", -2) % cache.ndim
    if axis == 0:
        raise NotImplementedError("TensorScatter along the batch axis")
    starts = where.asnumpy().reshape(-1).astype("int64").tolist() if where is not None else [0] * cache.shape[0]
    circular = attrs.get("mode", "linear") == "circular"
    size, steps = cache.shape[axis], update.shape[axis]
    out = cache.copy()
    prefix = list(onp.ndindex(*cache.shape[:axis]))
    for idx in prefix:
        for s in range(steps):
            t = starts[idx[0]] + s
            out[tuple(idx) + (t % size if circular else t,)] = update[tuple(idx) + (s,)]
    return [out]
