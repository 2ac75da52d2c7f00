"""Tensor plumbing: Flatten, Reshape, Transpose, Squeeze/Unsqueeze, Concat, Split, Pad, Gather, Reduce*,
ArgMax/ArgMin, Resize."""

from __future__ import annotations

import numpy as np

from onnxhub.import_ import attributes

from . import TABLE

_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod"}
_PAD_MODES = ("constant", "edge", "reflect")


@TABLE.register("Flatten")
def flatten(g, node):
    """MXNet ``Flatten`` at axis 1, else a Reshape for a known input shape."""
    axis = attributes(node).get("axis", 1)
    if axis == 1:
        return g.op("Flatten", [g.ref(node.input[0])])
    shape = g.shape(node.input[0])
    if not shape or None in shape:
        raise g.unsupported(f"axis={axis} with unknown shape")
    axis %= len(shape)
    return g.op("Reshape", [g.ref(node.input[0])], shape=[int(np.prod(shape[:axis])), -1])


@TABLE.register("Reshape")
def reshape(g, node):
    """A constant shape (shape subgraphs are folded by ``prepare_model``); no allowzero."""
    shape = g.ints(node.input[1], "a shape")
    if attributes(node).get("allowzero", 0) and 0 in shape:
        raise g.unsupported("allowzero=1")
    return g.op("Reshape", [g.ref(node.input[0])], shape=shape)


@TABLE.register("Transpose")
def transpose(g, node):
    return g.op("transpose", [g.ref(node.input[0])], axes=attributes(node).get("perm"))


@TABLE.register("Squeeze", since=13)
def squeeze(g, node):
    """Axes as an optional input (every size-1 axis when absent)."""
    return g.op("squeeze", [g.ref(node.input[0])], axis=g.input_ints(node, 1, "axes"))


@TABLE.register("Unsqueeze", since=13)
def unsqueeze(g, node):
    """Axes as an input: one ``expand_dims`` per new axis, in ascending order."""
    axes = g.ints(node.input[1], "axes")
    x = g.ref(node.input[0])
    rank = (g.rank(node.input[0]) or 0) + len(axes)
    for i, ax in enumerate(sorted(a % rank for a in axes)):
        x = g.op("expand_dims", [x], name=f"{node.output[0]}_{i}", axis=ax)
    return x


@TABLE.register("Concat")
def concat(g, node):
    return g.op("Concat", [g.ref(i) for i in node.input], dim=attributes(node)["axis"], num_args=len(node.input))


def _split(g, node, sizes):
    """``SliceChannel`` for equal parts, else one ``slice_axis`` per part."""
    axis = attributes(node).get("axis", 0)
    if len(set(sizes)) == 1:
        return g.op("SliceChannel", [g.ref(node.input[0])], n_out=len(sizes), num_outputs=len(sizes), axis=axis)
    x, begin, outs = g.ref(node.input[0]), 0, []
    for out, size in zip(node.output, sizes):
        outs.append(g.op("slice_axis", [x], name=out or None, axis=axis, begin=begin, end=begin + size))
        begin += size
    return outs


def _split_dim(g, node):
    shape = g.shape(node.input[0])
    axis = attributes(node).get("axis", 0)
    if not shape or not isinstance(shape[axis], int):
        raise g.unsupported("an input of unknown size along the axis")
    return shape[axis]


@TABLE.register("Split", since=13, until=17)
def split(g, node):
    """Part sizes as an optional constant input (equal parts when absent)."""
    sizes = g.input_ints(node, 1, "split")
    if sizes is None:
        dim, n = _split_dim(g, node), len(node.output)
        if dim % n:
            raise g.unsupported(f"{dim} not divisible into {n} equal parts")
        sizes = [dim // n] * n
    return _split(g, node, sizes)


@TABLE.register("Split", since=18)
def split_num_outputs(g, node):
    """Part sizes as an optional input, or ``num_outputs`` parts (the last one smaller when uneven)."""
    sizes = g.input_ints(node, 1, "split")
    if sizes is None:
        dim, n = _split_dim(g, node), attributes(node).get("num_outputs", len(node.output))
        part = -(-dim // n)
        sizes = [min(part, dim - i * part) for i in range(n)]
    return _split(g, node, sizes)


def _pad(g, node, pads):
    """MXNet ``Pad`` (4-D/5-D) from ONNX ``[begins..., ends...]`` over every axis."""
    mode = attributes(node).get("mode", "constant")
    n = len(pads) // 2
    if n not in (4, 5) or mode not in _PAD_MODES:
        raise g.unsupported(f"{n}-D padding in mode {mode!r}")
    value = g.input(node, 2)
    return g.op("Pad", [g.ref(node.input[0])], mode=mode, pad_width=[v for pair in zip(pads[:n], pads[n:]) for v in pair],
                constant_value=g.scalar(value, "constant_value") if value else 0.0)


@TABLE.register("Pad", since=11, until=17)
def pad(g, node):
    """Pads (and the constant value) as inputs."""
    return _pad(g, node, g.ints(node.input[1], "pads"))


@TABLE.register("Pad", since=18)
def pad_axes(g, node):
    """An optional ``axes`` input says which axes the pads are for."""
    pads, axes = g.ints(node.input[1], "pads"), g.input_ints(node, 3, "axes")
    if axes is not None:
        rank = g.rank(node.input[0])
        if rank is None:
            raise g.unsupported("axes on an input of unknown rank")
        full = [0] * (2 * rank)
        for j, ax in enumerate(axes):
            full[ax % rank], full[rank + ax % rank] = pads[j], pads[len(axes) + j]
        pads = full
    return _pad(g, node, pads)


@TABLE.register("Gather")
def gather(g, node):
    """MXNet ``take`` (its indices are float: a constant index list is written as float32)."""
    idx = g.consts.get(node.input[1])
    indices = g.param(node.input[1], idx.astype(np.float32)) if idx is not None else g.ref(node.input[1])
    return g.op("take", [g.ref(node.input[0]), indices], axis=attributes(node).get("axis", 0), mode="wrap")


def _reduce(g, node, axes):
    a = attributes(node)
    if not axes and a.get("noop_with_empty_axes", 0):
        return g.op("_copy", [g.ref(node.input[0])])
    if node.op_type == "ReduceLogSumExp":
        return _log_sum_exp(g, node, axes or None, bool(a.get("keepdims", 1)))
    return g.op(_REDUCE[node.op_type], [g.ref(node.input[0])], axis=axes or None, keepdims=bool(a.get("keepdims", 1)))


def _log_sum_exp(g, node, axes, keepdims):
    """Max-shifted: ``log(sum(exp(x - max))) + max``, numerically stable."""
    x, out = g.ref(node.input[0]), node.output[0]
    shift = g.op("max", [x], name=out + "_max", axis=axes, keepdims=True)
    e = g.op("exp", [g.op("broadcast_sub", [x, shift], name=out + "_shifted")], name=out + "_exp")
    total = g.op("log", [g.op("sum", [e], name=out + "_sum", axis=axes, keepdims=keepdims)], name=out + "_log")
    top = shift if keepdims else g.op("max", [x], name=out + "_top", axis=axes, keepdims=False)
    return g.op("broadcast_add", [total, top])


@TABLE.register("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceLogSumExp", until=17)
def reduce_axes_attribute(g, node):
    """Axes as an attribute."""
    return _reduce(g, node, attributes(node).get("axes"))


@TABLE.register("ReduceSum", since=13)
@TABLE.register("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceLogSumExp", since=18)
def reduce_axes_input(g, node):
    """Axes as an optional input."""
    return _reduce(g, node, g.input_ints(node, 1, "axes"))


@TABLE.register("ArgMax", "ArgMin")
def arg_max_min(g, node):
    """MXNet ``argmax``/``argmin`` (float indices), cast to ONNX's int64; the first index of ties only."""
    a = attributes(node)
    if a.get("select_last_index", 0):
        raise g.unsupported("select_last_index=1")
    idx = g.op(node.op_type.lower(), [g.ref(node.input[0])], name=node.output[0] + "_index", axis=a.get("axis", 0),
               keepdims=bool(a.get("keepdims", 1)))
    return g.op("Cast", [idx], dtype="int64")


@TABLE.register("Resize", since=13)
def resize(g, node):
    """4-D nearest upsampling by one integer factor on H and W, as MXNet ``UpSampling`` (exact only there:
    half_pixel/pytorch_half_pixel with any nearest_mode, or asymmetric/tf_half_pixel_for_nn with floor);
    4-D linear on H and W (half_pixel, pytorch_half_pixel or align_corners, whole output sizes) as
    ``contrib.BilinearResize2D``."""
    a = attributes(node)
    shape = g.shape(node.input[0])
    if not shape or len(shape) != 4 or any(not isinstance(d, int) for d in shape):
        raise g.unsupported("an input that is not 4-D of known shape")
    if a.get("axes") or a.get("antialias", 0) or a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise g.unsupported("axes, antialias or keep_aspect_ratio_policy")
    scales, sizes = g.input(node, 2), g.input(node, 3)
    if sizes:
        out = g.ints(sizes, "sizes")
        factors = [o / i for o, i in zip(out, shape)]
    elif scales:
        factors = [float(f) for f in g.constant(scales, "scales").reshape(-1)]
    else:
        raise g.unsupported("neither scales nor sizes")
    mode = a.get("mode", "nearest")
    coord = a.get("coordinate_transformation_mode", "half_pixel")
    nearest = a.get("nearest_mode", "round_prefer_floor")
    f = factors[2] if len(factors) == 4 else 0
    exact = (mode == "nearest" and len(factors) == 4 and factors[:2] == [1, 1] and factors[2] == factors[3]
             and f >= 1 and f == int(f)
             and (coord in ("half_pixel", "pytorch_half_pixel")
                  or (coord in ("asymmetric", "tf_half_pixel_for_nn") and nearest == "floor")))
    out = [round(d * k) for d, k in zip(shape, factors)]
    corners = {"half_pixel": False, "pytorch_half_pixel": False, "align_corners": True}.get(coord)
    if (mode == "linear" and len(factors) == 4 and factors[:2] == [1, 1] and corners is not None
            and all(abs(d * k - o) < 1e-6 and o > 1 for d, k, o in zip(shape[2:], factors[2:], out[2:]))):
        return g.op("_contrib_BilinearResize2D", [g.ref(node.input[0])], height=out[2], width=out[3],
                    align_corners=corners)
    if not exact:
        raise g.unsupported(f"mode={mode} coordinate_transformation_mode={coord} with scales {factors}: MXNet has "
                            "no exact equivalent (only nearest upsampling by one integer factor on H and W, "
                            "or linear half_pixel/align_corners resizing of H and W to whole sizes)")
    return g.op("UpSampling", [g.ref(node.input[0])], scale=int(f), sample_type="nearest", num_args=1)
