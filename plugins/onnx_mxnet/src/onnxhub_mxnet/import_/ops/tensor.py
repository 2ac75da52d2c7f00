"""Tensor plumbing: Flatten, Reshape, Transpose, Squeeze/Unsqueeze, Concat, Pad, Gather, Reduce*."""

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
    return g.op(_REDUCE[node.op_type], [g.ref(node.input[0])], axis=axes or None, keepdims=bool(a.get("keepdims", 1)))


@TABLE.register("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", until=17)
def reduce_axes_attribute(g, node):
    """Axes as an attribute."""
    return _reduce(g, node, attributes(node).get("axes"))


@TABLE.register("ReduceSum", since=13)
@TABLE.register("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", since=18)
def reduce_axes_input(g, node):
    """Axes as an optional input."""
    return _reduce(g, node, g.input_ints(node, 1, "axes"))
