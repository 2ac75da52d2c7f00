"""Recurrences: CNTK loops through PastValue/FutureValue as ONNX ``Scan``.

A CNTK recurrence is a cycle in the graph closed by delay operators: ``Recurrence(LSTM)``
is ``h, c = LSTM(PastValue(h), PastValue(c), x)``. ``schedule`` orders a level of the graph
(the top level or a block's body) with each cycle collapsed into one ``Loop``; ``convert_loop``
writes a loop as a Scan over the sequence axis: the delays' outputs are the state inputs,
their recurrent inputs the state outputs, values with a sequence axis read from outside are
scanned (one step each), everything else is read from the outer graph. FutureValue loops
(``go_backwards``) scan in reverse. All sequences of a batch have the same length (the
ONNX layout ``[sequence, batch, ...]`` is rectangular).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..formats.model import DELAYS
from .convert import BATCH, SEQUENCE, Tensor


class Loop:
    """A strongly connected set of functions (members, in dependency order) and its delays."""

    def __init__(self, members: list, delays: list):
        self.members, self.delays = members, delays
        self.uids = {f.uid for f in members}


def _cycle_members(model, uids: set, delay) -> set:
    """Functions of ``uids`` on a cycle through ``delay``: reachable from it and reaching its input."""
    src = model.producer(delay.inputs[0])
    if src is None or src[0].uid not in uids:
        return set()
    consumers = {}
    for uid in uids:
        for name in model.functions[uid].inputs:
            p = model.producer(name)
            if p and p[0].uid in uids:
                consumers.setdefault(p[0].uid, set()).add(uid)
    ahead, stack = set(), [delay.uid]
    while stack:
        for c in consumers.get(stack.pop(), ()):
            if c not in ahead:
                ahead.add(c)
                stack.append(c)
    behind, stack = {src[0].uid}, [src[0].uid]
    while stack:
        for name in model.functions[stack.pop()].inputs:
            p = model.producer(name)
            if p and p[0].uid in uids and p[0].uid not in behind:
                behind.add(p[0].uid)
                stack.append(p[0].uid)
    return (ahead & behind) | {delay.uid} if delay.uid in ahead else set()


def schedule(model, functions: list) -> list:
    """``functions`` (one level, in dependency order with loops cut at their delays) with every
    recurrence collapsed into a ``Loop`` placed after everything it reads."""
    uids = {f.uid for f in functions}
    groups = []  # merged cycles, as uid sets
    for fn in functions:
        if fn.op in DELAYS:
            cycle = _cycle_members(model, uids, fn)
            if cycle:
                overlapping = [g for g in groups if g & cycle]
                for g in overlapping:
                    groups.remove(g)
                    cycle |= g
                groups.append(cycle)
    if not groups:
        return list(functions)
    group_of = {uid: i for i, g in enumerate(groups) for uid in g}
    loops = [Loop([f for f in functions if f.uid in g], [f for f in functions if f.uid in g and f.op in DELAYS
                                                         and model.producer(f.inputs[0])[0].uid in g])
             for g in groups]
    # Depth-first over the condensed graph (a loop is one node), producers first.
    order, done = [], set()

    def node(uid):
        return ("loop", group_of[uid]) if uid in group_of else ("fn", uid)

    def reads(key):
        members = loops[key[1]].members if key[0] == "loop" else [model.functions[key[1]]]
        out = []
        for fn in members:
            for name in fn.inputs:
                p = model.producer(name)
                if p and p[0].uid in uids and node(p[0].uid) != key:
                    out.append(node(p[0].uid))
        return out

    for fn in functions:
        stack = [(node(fn.uid), False)]
        while stack:
            key, expanded = stack.pop()
            if expanded:
                if key not in done:
                    done.add(key)
                    order.append(loops[key[1]] if key[0] == "loop" else model.functions[key[1]])
            elif key not in done:
                stack.append((key, True))
                stack.extend((k, False) for k in reads(key) if k not in done)
    return order


def _state_shape(ctx, model, delay) -> tuple:
    """A delay's static shape: from a block placeholder it is bound to (CNTK stores those)."""
    out = delay.outputs[0]
    for fn in model.functions.values():
        if fn.block is not None:
            for inner, outer in fn.block.arguments.items():
                shape = model.variables[inner].shape
                if outer == out and shape is not None and None not in shape and -1 not in shape:
                    return shape
    raise ctx.unsupported(f"the state shape of {delay.op} {delay.uid!r} is not recorded (not a block argument)")


def convert_loop(conv, loop: Loop, env: dict) -> None:
    """Write ``loop`` as one Scan; put its outputs that the rest of the graph reads into ``env``."""
    ctx, model = conv.ctx, conv.model
    ops = {d.op for d in loop.delays}
    if len(ops) != 1:
        raise ctx.unsupported("a recurrence mixing PastValue and FutureValue")
    reverse = ops == {"FutureValue"}
    first = loop.delays[0]
    ctx.at_function(first)
    if any(int(d.attributes.get("offset", 1)) != 1 for d in loop.delays):
        raise ctx.unsupported("a recurrence over more than one step (offset != 1)")
    inside = loop_outputs(loop)
    body_env, scanned = dict(env), []  # scanned: (outer tensor, body name of one step)
    for fn in loop.members:
        for uid in fn.inputs[1:] if fn in loop.delays else fn.inputs:
            if uid in inside or uid in body_env and body_env[uid].dyn != SEQUENCE:
                continue
            outer = conv.lookup(env, uid)
            body_env[uid] = outer
            if outer.dyn == SEQUENCE:
                step = ctx.fresh(f"{outer.name}_step")
                scanned.append((outer, step))
                body_env[uid] = Tensor(step, BATCH, outer.shape)
    if not scanned:
        raise ctx.unsupported("a recurrence that reads no sequence")
    states = []
    for d in loop.delays:
        shape = _state_shape(ctx, model, d)
        body_env[d.outputs[0]] = Tensor(ctx.fresh(f"{d.uid}_state"), BATCH, shape)
        states.append((d, body_env[d.outputs[0]].name, shape))
    wanted = [uid for uid in sorted(inside) if uid in conv.read_outside(loop.uids)]
    saved_nodes, ctx.nodes = ctx.nodes, []
    try:
        conv.run([f for f in loop.members if f not in loop.delays], body_env)
        ctx.at_function(first)
        state_outs = []
        for d, _, shape in states:
            value = body_env[d.inputs[0]]
            if value.dyn != BATCH or value.shape != shape:
                raise ctx.unsupported(f"state {d.uid!r}: {value.shape} per step, {shape} recorded")
            state_outs.append(ctx.one("Identity", [value.name]))
        step_outs = [ctx.one("Identity", [body_env[uid].name]) for uid in wanted]
        body_nodes = ctx.nodes
    finally:
        ctx.nodes = saved_nodes
    def info(name, shape):  # one step of a batch: [batch, *static]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(np.float32)),
                                             [None] + list(shape))

    body = helper.make_graph(
        body_nodes, ctx.fresh(f"{first.uid}_body"),
        [info(n, shape) for _, n, shape in states] + [info(step, t.shape) for t, step in scanned],
        [info(n, shape) for n, (_, _, shape) in zip(state_outs, states)]
        + [info(n, body_env[uid].shape) for n, uid in zip(step_outs, wanted)])
    inits = [_initial_state(conv, env, d, shape, scanned[0][0]) for d, _, shape in states]
    directions = {"scan_input_directions": [1] * len(scanned),
                  "scan_output_directions": [1] * len(step_outs)} if reverse else {}
    outs = ctx.make("Scan", inits + [t.name for t, _ in scanned], len(states) + len(step_outs), body=body,
                    num_scan_inputs=len(scanned), **directions)
    for uid, name in zip(wanted, outs[len(states):]):
        env[uid] = Tensor(name, SEQUENCE, body_env[uid].shape)


def loop_outputs(loop: Loop) -> set:
    return {uid for f in loop.members for uid in f.outputs}


def _initial_state(conv, env, delay, shape, sequence: Tensor) -> str:
    """The delay's initial value as ``[batch, *shape]``: a constant broadcast, or a per-sample value."""
    ctx = conv.ctx
    init = conv.lookup(env, delay.inputs[1])
    if init.dyn == BATCH and init.shape == shape:
        return init.name
    if init.dyn:
        raise ctx.unsupported(f"initial state with dynamic axes {init.dyn}")
    batch = ctx.slice(ctx.one("Shape", [sequence.name]), [1], [2])
    dims = ctx.one("Concat", [batch, ctx.ints(list(shape))], axis=0)
    return ctx.one("Expand", [init.name, dims])
