"""Sequence operators outside recurrences, on the layout ``[sequence, batch, *static]``.

Delays that close a loop are Scan states (``loops.py``); these are the others. The
packed-sequence operators CNTK uses for ``sequence.last``/``first`` and ``Fold``
(ReconcileDynamicAxis, Where, PackedIndex, GatherPacked) are converted for what they
compute on equal-length sequences: ``Where`` of a one-hot flag sequence is the position
of the flag, ``GatherPacked`` picks that step of each sequence.
"""

from __future__ import annotations

from ..convert import BATCH, SEQUENCE, TABLE, Tensor


def _need_sequence(ctx, x: Tensor) -> None:
    if x.dyn != SEQUENCE:
        raise ctx.unsupported(f"an operand with dynamic axes {x.dyn}; a sequence was expected")


def _fill(ctx, init: Tensor, x: Tensor, steps: int) -> str:
    """``steps`` steps of ``init`` shaped like ``x``'s steps: ``[steps, batch, *static]``."""
    if init.dyn:
        raise ctx.unsupported("a delay whose initial value has dynamic axes")
    tail = ctx.slice(ctx.one("Shape", [x.name]), [1], [None])
    return ctx.one("Expand", [init.name, ctx.one("Concat", [ctx.ints([steps]), tail], axis=0)])


@TABLE.register("PastValue", "FutureValue")
def delay(ctx, fn, inputs):
    """x shifted ``offset`` steps along the sequence, the initial value shifted in -> Slice + Concat

    PastValue moves steps later (the first ones come from the initial value), FutureValue earlier.
    """
    x, init = inputs
    _need_sequence(ctx, x)
    k = int(fn.attributes.get("offset", 1))
    fill = _fill(ctx, init, x, k)
    if fn.op == "PastValue":
        parts = [fill, ctx.slice(x.name, [0], [-k], [0])]
    else:
        parts = [ctx.slice(x.name, [k], [None], [0]), fill]
    return [ctx.like(x, ctx.one("Concat", parts, axis=0))]


@TABLE.register("ReconcileDynamicAxis")
def reconcile_dynamic_axis(ctx, fn, inputs):
    """x given the dynamic axes of a layout operand -> Expand"""
    x, layout = inputs
    if x.dyn == layout.dyn:
        return [x]
    if x.dyn and x.dyn != layout.dyn[-len(x.dyn):]:
        raise ctx.unsupported(f"reconciling dynamic axes {x.dyn} with {layout.dyn}")
    lead = ctx.slice(ctx.one("Shape", [layout.name]), [0], [len(layout.dyn)])
    name = ctx.unsqueeze(x.name, list(range(len(layout.dyn) - len(x.dyn)))) if x.dyn else x.name
    dims = ctx.one("Concat", [lead, ctx.ints([d if d is not None else 1 for d in x.shape])], axis=0) \
        if x.shape else lead
    if None in x.shape:
        raise ctx.unsupported("reconciling a value with a free dimension")
    return [Tensor(ctx.one("Expand", [name, dims]), layout.dyn, x.shape)]


@TABLE.register("Where")
def where(ctx, fn, inputs):
    """the step holding the one non-zero flag of each sequence (``newDynamicAxes`` = batch) -> ArgMax"""
    (flags,) = inputs
    _need_sequence(ctx, flags)
    axes = fn.attributes.get("newDynamicAxes", [])
    if len(axes) != 1 or not axes[0].is_batch or fn.attributes.get("newSequenceAxisLengthScalingFactor", 1) != 0 \
            or fn.attributes.get("newSequenceAxisLengthAdditiveFactor", 0) != 1:
        raise ctx.unsupported("Where with a sequence result (only one selected step per sequence is converted)")
    nonzero = ctx.one("Not", [ctx.one("Equal", [flags.name, ctx.scalar_like(0.0, flags.name)])])
    index = ctx.one("ArgMax", [ctx.one("Cast", [nonzero], to=6)], axis=0, keepdims=0)  # first non-zero: int32
    return [Tensor(ctx.cast_like(index, flags.name), BATCH, flags.shape)]


@TABLE.register("PackedIndex")
def packed_index(ctx, fn, inputs):
    """step positions stay step positions (the layout is not packed) -> nothing"""
    return [inputs[1]]


@TABLE.register("GatherPacked")
def gather_packed(ctx, fn, inputs):
    """the step of each sequence at the given position -> GatherElements along the sequence axis"""
    x, index = inputs
    _need_sequence(ctx, x)
    if index.dyn != BATCH or any(d != 1 for d in index.shape):
        raise ctx.unsupported("gathering more than one step per sequence")
    i64 = ctx.one("Cast", [index.name], to=7)
    flat = ctx.one("Reshape", [i64, ctx.ints([1, -1] + [1] * len(x.shape))])
    dims = ctx.one("Concat", [ctx.ints([1]), ctx.slice(ctx.one("Shape", [x.name]), [1], [None])], axis=0)
    picked = ctx.one("GatherElements", [x.name, ctx.one("Expand", [flat, dims])], axis=0)
    return [Tensor(ctx.squeeze(picked, [0]), BATCH, x.shape)]
