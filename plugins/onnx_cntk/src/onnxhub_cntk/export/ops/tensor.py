"""Tensor operators on static axes: Reshape, Splice, Slice, TransposeAxes, ReduceElements, Pad.

Axis attributes are stored in CNTK's C++ order (``numpy_axis`` turns them around);
reductions or slices over a dynamic axis (sequence, batch) are sequence operators, not these.
"""

from __future__ import annotations

import numpy as np

from ...formats.model import INFERRED
from ..convert import TABLE, Tensor, numpy_axis


def _static_axes(ctx, x: Tensor, axes) -> list:
    """NumPy-order static axes for stored ``Axis`` values (``AllStaticAxes``: every one)."""
    out = []
    for axis in axes:
        if axis.is_all_static:
            out.extend(range(len(x.shape)))
        elif axis.is_dynamic:
            raise ctx.unsupported(f"the dynamic axis {axis.name!r}")
        else:
            out.append(numpy_axis(axis.static_index, len(x.shape)))
    return sorted(set(out))


def _axes_attr(fn, single: str, vector: str) -> list:
    a = fn.attributes
    return list(a[vector]) if vector in a else [a[single]]


@TABLE.register("Reshape")
def reshape(ctx, fn, inputs):
    """the static axes ``beginAxis..endAxis`` replaced by ``newShape`` -> Reshape (dynamic axes copied)"""
    (x,) = inputs
    a = fn.attributes
    stored = list(reversed(x.shape))  # C++ order, like the attributes
    rank = len(stored)
    begin = a["beginAxis"].static_index if "beginAxis" in a else 0
    end = a["endAxis"].static_index if "endAxis" in a else rank
    begin, end = (i + rank if i < 0 else i for i in (begin, end))
    new = [None if d == INFERRED else int(d) for d in a["newShape"]]
    if None in stored[begin:end]:
        raise ctx.unsupported("reshaping a free dimension")
    if None in new:  # one inferred dimension: what the replaced axes leave over
        known = int(np.prod([d for d in new if d is not None], dtype=np.int64))
        new[new.index(None)] = int(np.prod(stored[begin:end], dtype=np.int64)) // max(known, 1)
    shape = stored[:begin] + new + stored[end:]
    return [ctx.reshape_static(x, tuple(reversed(shape)))]


@TABLE.register("Splice")
def splice(ctx, fn, inputs):
    """concatenation along a static axis (a new outer axis when it is beyond the rank) -> Concat"""
    axis = fn.attributes["axis"]
    if axis.is_dynamic or axis.is_all_static:
        raise ctx.unsupported(f"splicing along {axis.name!r}")
    dyn = inputs[0].dyn
    if any(t.dyn != dyn for t in inputs):
        raise ctx.unsupported("splicing values with different dynamic axes")
    rank = max(max(len(t.shape) for t in inputs), axis.static_index + 1)
    np_axis = numpy_axis(axis.static_index, rank)
    names, shapes = [], []
    for t in inputs:  # missing axes are outer axes of size 1 (CNTK aligns shapes at the innermost axis)
        extra = rank - len(t.shape)
        names.append(ctx.unsqueeze(t.name, list(range(len(dyn), len(dyn) + extra))) if extra else t.name)
        shapes.append((1,) * extra + t.shape)
    rest = {s[:np_axis] + s[np_axis + 1:] for s in shapes}
    if len(rest) != 1:
        raise ctx.unsupported(f"splicing shapes {[t.shape for t in inputs]} (no broadcasting in Concat)")
    sizes = [s[np_axis] for s in shapes]
    total = None if None in sizes else sum(sizes)
    out_shape = shapes[0][:np_axis] + (total,) + shapes[0][np_axis + 1:]
    return [Tensor(ctx.one("Concat", names, axis=len(dyn) + np_axis), dyn, out_shape)]


@TABLE.register("Slice")
def slice_(ctx, fn, inputs):
    """a range of a static axis (end 0: to the end) -> Slice"""
    (x,) = inputs
    a = fn.attributes
    axes = _axes_attr(fn, "axis", "axisVec")
    begins = _axes_attr(fn, "beginIndex", "beginIndexVec")
    ends = _axes_attr(fn, "endIndex", "endIndexVec")
    steps = list(a["sliceStridesVec"]) if "sliceStridesVec" in a else [a.get("sliceStrides", 1)] * len(axes)
    np_axes, starts, stops, shape = [], [], [], list(x.shape)
    for axis, b, e, s in zip(axes, begins, ends, steps):
        (ax,) = _static_axes(ctx, x, [axis])
        e = None if e == 0 else e
        np_axes.append(x.axis(ax))
        starts.append(int(b))
        stops.append(e)
        if shape[ax] is not None:
            shape[ax] = len(range(shape[ax])[slice(int(b), e, int(s))])
    return [ctx.like(x, ctx.slice(x.name, starts, stops, np_axes, [int(s) for s in steps]), shape=shape)]


@TABLE.register("TransposeAxes")
def transpose_axes(ctx, fn, inputs):
    """a permutation (``axisVec``) or a swap (``axis1``/``axis2``) of static axes -> Transpose"""
    (x,) = inputs
    a = fn.attributes
    rank = len(x.shape)
    if "axisVec" in a:  # stored output axis i is stored input axis axisVec[i]
        stored = [ax.static_index for ax in a["axisVec"]]
        perm = [rank - 1 - stored[rank - 1 - j] for j in range(rank)]
    else:
        perm = list(range(rank))
        i, j = (_static_axes(ctx, x, [a[k]])[0] for k in ("axis1", "axis2"))
        perm[i], perm[j] = perm[j], perm[i]
    full = list(range(len(x.dyn))) + [len(x.dyn) + p for p in perm]
    return [ctx.like(x, ctx.one("Transpose", [x.name], perm=full), shape=[x.shape[p] for p in perm])]


_REDUCTIONS = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax", "Min": "ReduceMin",
               "Prod": "ReduceProd", "LogSum": "ReduceLogSumExp"}


@TABLE.register("ReduceElements")
def reduce_elements(ctx, fn, inputs):
    """Sum/Mean/Max/Min/Prod/LogSum/Argmax/Argmin over static axes -> Reduce* / ArgMax / ArgMin"""
    (x,) = inputs
    a = fn.attributes
    op = a.get("reductionOpName", "Sum")
    keep = bool(a.get("reductionKeepDimensions", True))
    if any(axis.is_all for axis in _axes_attr(fn, "axis", "axisVec")):
        return [_reduce_all(ctx, x, op, keep)]
    axes = _static_axes(ctx, x, _axes_attr(fn, "axis", "axisVec"))
    shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
    if not keep:
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
    onnx_axes = [x.axis(i) for i in axes]
    if op in ("Argmax", "Argmin"):
        if len(axes) != 1:
            raise ctx.unsupported(f"{op} over {len(axes)} axes")
        index = ctx.one("ArgMax" if op == "Argmax" else "ArgMin", [x.name], axis=onnx_axes[0], keepdims=int(keep))
        return [ctx.like(x, ctx.cast_like(index, x.name), shape=shape)]  # CNTK returns the index as a float
    if op not in _REDUCTIONS:
        raise ctx.unsupported(f"reduction {op!r}")
    return [ctx.like(x, ctx.reduce(_REDUCTIONS[op], x.name, onnx_axes, keepdims=int(keep)), shape=shape)]


def _reduce_all(ctx, x, op: str, keep: bool):
    """``Axis.all_axes()``: over the batch (and sequence) axes too, so the result has no dynamic axis:
    a scalar, or ``[1] * static rank`` kept (CNTK keeps the static axes only)."""
    if op not in _REDUCTIONS:
        raise ctx.unsupported(f"{op} over all axes")
    total = ctx.reduce(_REDUCTIONS[op], x.name, list(range(x.rank)), keepdims=0)
    scalar = Tensor(total, (), ())
    return ctx.reshape_static(scalar, (1,) * len(x.shape)) if keep and x.shape else scalar


_PAD_MODES = {0: "constant", 1: "reflect"}


@TABLE.register("Pad")
def pad(ctx, fn, inputs):
    """constant or reflect padding of static axes -> Pad"""
    (x,) = inputs
    a = fn.attributes
    mode = _PAD_MODES.get(a.get("paddingMode", 0))
    if mode is None:
        raise ctx.unsupported("symmetric padding (ONNX has constant, reflect and edge)")
    rank = len(x.shape)
    head, foot = (list(a[k]) + [0] * (rank - len(a[k])) for k in ("paddingHead", "paddingFoot"))
    begins = [0] * len(x.dyn) + [int(head[rank - 1 - i]) for i in range(rank)]
    ends = [0] * len(x.dyn) + [int(foot[rank - 1 - i]) for i in range(rank)]
    value = float(a.get("paddingConstantValue", 0.0)) if mode == "constant" else None
    shape = [None if d is None else d + begins[len(x.dyn) + i] + ends[len(x.dyn) + i] for i, d in enumerate(x.shape)]
    return [ctx.like(x, ctx.pad(x.name, begins + ends, mode=mode, value=value), shape=shape)]
