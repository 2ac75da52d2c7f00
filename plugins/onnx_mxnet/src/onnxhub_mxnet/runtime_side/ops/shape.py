"""Operators that reshape, reorder, split, join or pad tensors."""

import numpy as onp
from mxnet import np

from .common import TABLE, axes_of, ints, pad_constant


@TABLE.register("Shape")
def shape(inputs, attrs):
    dims = list(inputs[0].shape)
    start, end = attrs.get("start", 0), attrs.get("end")
    dims = dims[start:end] if end is not None else dims[start:]
    return [np.array(dims, dtype="int64")]


@TABLE.register("Size")
def size(inputs, attrs):
    return [np.array(int(onp.prod(inputs[0].shape)), dtype="int64")]


@TABLE.register("Reshape")
def reshape(inputs, attrs):
    x = inputs[0]
    target = ints(inputs[1]) if len(inputs) > 1 else list(attrs["shape"])
    if not attrs.get("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return [x.reshape(tuple(target))]


@TABLE.register("Flatten")
def flatten(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 1) % (x.ndim or 1) if attrs.get("axis", 1) < 0 else attrs.get("axis", 1)
    lead = int(onp.prod(x.shape[:axis])) if axis else 1
    return [x.reshape(lead, int(onp.prod(x.shape[axis:])))]


@TABLE.register("Transpose")
def transpose(inputs, attrs):
    perm = attrs.get("perm")
    return [np.transpose(inputs[0], axes=tuple(perm) if perm else None)]


@TABLE.register("Squeeze")
def squeeze(inputs, attrs):
    x = inputs[0]
    axes = axes_of(attrs.get("axes"), inputs[1] if len(inputs) > 1 else None, x.ndim)
    return [np.squeeze(x, axis=axes) if axes else np.squeeze(x)]


@TABLE.register("Unsqueeze")
def unsqueeze(inputs, attrs):
    x = inputs[0]
    axes = attrs.get("axes") if attrs.get("axes") is not None else ints(inputs[1])
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


@TABLE.register("Concat")
def concat(inputs, attrs):
    return [np.concatenate([x for x in inputs if x is not None], axis=attrs["axis"])]


@TABLE.register("Split")
def split(inputs, attrs):
    x, axis = inputs[0], attrs.get("axis", 0)
    sizes = attrs.get("split") or (ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None)
    n = attrs["_outputs"]
    dim = x.shape[axis]
    if sizes is None:
        chunk = -(-dim // n)
        sizes = [min(chunk, dim - i * chunk) for i in range(n)]
    bounds = list(onp.cumsum(sizes)[:-1])
    return list(np.split(x, [int(b) for b in bounds], axis=axis)) if bounds else [x]


def _slice(x, starts, ends, axes, steps):
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        begin, end, step = slice(s, e, st).indices(x.shape[a])
        # indices() gives end -1 for "before index 0" (a reversal to the start); as a slice
        # bound -1 would mean the last element, so that case is an open end.
        index[a % x.ndim] = slice(begin, end if end >= 0 else None, step)
    return [x[tuple(index)]]


@TABLE.register("Slice", until=9)
def slice_1(inputs, attrs):
    """Starts, ends and axes as attributes."""
    return _slice(inputs[0], attrs["starts"], attrs["ends"], attrs.get("axes"), None)


@TABLE.register("Slice", since=10)
def slice_10(inputs, attrs):
    """Starts, ends, axes and steps as inputs."""
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    return _slice(inputs[0], ints(inputs[1]), ints(inputs[2]), axes, steps)


@TABLE.register("Expand")
def expand(inputs, attrs):
    x, target = inputs[0], ints(inputs[1])
    shape = onp.broadcast_shapes(tuple(x.shape), tuple(target)) if hasattr(onp, "broadcast_shapes") else \
        onp.broadcast(onp.empty(x.shape), onp.empty(target)).shape
    return [np.broadcast_to(x, shape)]


@TABLE.register("Tile")
def tile(inputs, attrs):
    x, reps = inputs[0], ints(inputs[1])
    if x.ndim <= 2:
        return [np.tile(x, tuple(reps))]
    for axis, r in enumerate(reps):  # MXNet's tile broadcasts through 2 * rank dims (at most 5 of them)
        if r != 1:
            x = np.concatenate([x] * r, axis=axis) if r else x[(slice(None),) * axis + (slice(0, 0),)]
    return [x]


def _pad(x, mode, pads, value, axes):
    axes = [a % x.ndim for a in axes] if axes is not None else list(range(x.ndim))
    n = len(axes)
    width = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        width[a] = (pads[i], pads[i + n])
    width = tuple(width)  # MXNet's np.pad insists on tuples
    if mode == "constant":
        return [pad_constant(x, width, value)]
    if mode == "reflect":
        return [np.pad(x, width, mode="reflect")]
    if mode == "edge":
        return [np.pad(x, width, mode="edge")]
    if mode == "wrap" and all(0 <= b <= x.shape[a] and 0 <= e <= x.shape[a] for a, (b, e) in enumerate(width)):
        for a, (b, e) in enumerate(width):
            lead = (slice(None),) * a
            parts = ([x[lead + (slice(x.shape[a] - b, None),)]] if b else []) + [x] + \
                ([x[lead + (slice(0, e),)]] if e else [])
            x = np.concatenate(parts, axis=a) if len(parts) > 1 else x
        return [x]
    raise NotImplementedError("Pad mode %s" % mode)


@TABLE.register("Pad", since=2, until=10)
def pad_2(inputs, attrs):
    """Pads and value as attributes."""
    return _pad(inputs[0], attrs.get("mode", "constant"), attrs["pads"], attrs.get("value", 0.0), None)


@TABLE.register("Pad", since=11)
def pad_11(inputs, attrs):
    """Pads, value and (18+) axes as inputs."""
    value = inputs[2].item() if len(inputs) > 2 and inputs[2] is not None else 0
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    return _pad(inputs[0], attrs.get("mode", "constant"), ints(inputs[1]), value, axes)


@TABLE.register("DepthToSpace")
def depth_to_space(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        y = np.transpose(x.reshape(n, b, b, c // (b * b), h, w), axes=(0, 3, 4, 1, 5, 2))
    else:
        y = np.transpose(x.reshape(n, c // (b * b), b, b, h, w), axes=(0, 1, 4, 2, 5, 3))
    return [y.reshape(n, c // (b * b), h * b, w * b)]


@TABLE.register("SpaceToDepth")
def space_to_depth(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    y = np.transpose(x.reshape(n, c, h // b, b, w // b, b), axes=(0, 3, 5, 1, 2, 4))
    return [y.reshape(n, c * b * b, h // b, w // b)]


@TABLE.register("ReverseSequence")
def reverse_sequence(inputs, attrs):
    x, lens = inputs
    batch_axis, time_axis = attrs.get("batch_axis", 1), attrs.get("time_axis", 0)
    steps = x.shape[time_axis]
    t = np.arange(steps, dtype="int64")
    outs = []
    for b in range(x.shape[batch_axis]):
        n = int(lens[b].item())
        order = np.where(t < n, n - 1 - t, t)
        row = np.take(x, np.array([b], dtype="int64"), axis=batch_axis)
        outs.append(np.take(row, order, axis=time_axis))
    return [np.concatenate(outs, axis=batch_axis)]


@TABLE.register("CenterCropPad", since=18)
def center_crop_pad(inputs, attrs):
    """Crop (centre, extra row at the end) or zero-pad (centre, extra at the end) each axis to ``shape``."""
    from mxnet import np as mnp

    x, target = inputs[0], ints(inputs[1])
    axes = [a % x.ndim for a in attrs["axes"]] if attrs.get("axes") else list(range(x.ndim))
    index = [slice(None)] * x.ndim
    width = [(0, 0)] * x.ndim
    for axis, size in zip(axes, target):
        have = x.shape[axis]
        if have > size:
            start = (have - size) // 2
            index[axis] = slice(start, start + size)
        elif have < size:
            begin = (size - have) // 2
            width[axis] = (begin, size - have - begin)
    y = x[tuple(index)]
    if any(w != (0, 0) for w in width):
        y = mnp.pad(y, tuple(width), mode="constant")
    return [y]
