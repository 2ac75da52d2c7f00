"""Gathering and selecting by index; one-hot; top-k; triangles."""

from mxnet import np, npx

from .common import TABLE


def _gather(take):
    """Gather / GatherElements: ``take(x, idx, axis)`` with negative indices counted from the end."""
    def run(inputs, attrs):
        x, idx = inputs
        axis = attrs.get("axis", 0) % x.ndim
        return [take(x, np.where(idx < 0, idx + x.shape[axis], idx), axis=axis)]
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
