"""Recurrent layers: MXNet's fused ``RNN`` op (LSTM, GRU, vanilla; uni- and bidirectional).

MXNet packs every weight into one flat vector: for each layer, for each direction,
the input-to-hidden then hidden-to-hidden matrices; then all biases in the same
order. Gates are ordered i, f, g, o (LSTM) and r, z, n (GRU); ONNX wants i, o, f, c
and z, r, h. MXNet's GRU applies the reset gate after the recurrent matmul, which is
ONNX's ``linear_before_reset=1``.
"""

from __future__ import annotations

import numpy as np

from ..convert import TABLE, attrs

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
# index lists that reorder MXNet's gate blocks into ONNX's
ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_tanh": [0], "rnn_relu": [0]}


@TABLE.register("_zeros", "zeros")
def zeros(ctx, node, inputs):
    a = attrs(node)
    shape = a.ints("shape") or []
    dtype = np.dtype(a.str("dtype", "float32"))
    if all(d and d > 0 for d in shape):
        return [ctx.const(np.zeros(shape, dtype), name=node.name)]
    # A shape with 0s is "infer me" in MXNet; Gluon uses it for RNN begin states, which ONNX
    # recurrent ops default to zeros. Only the RNN converter may consume it.
    return [ctx.lazy_zeros(node.name)]


@TABLE.register("_rnn_param_concat")
def rnn_param_concat(ctx, node, inputs):
    values = [ctx.value(i) for i in inputs]
    axis = attrs(node).int("dim", 0)
    if all(v is not None for v in values):
        return [ctx.const(np.concatenate(values, axis=axis), name=node.name)]
    return [ctx.one("Concat", inputs, axis=axis)]


def _split_params(flat, mode, layers, dirs, hidden):
    """Per (layer, direction): (W_i2h, W_h2h, b_i2h, b_h2h) as MXNet lays them out."""
    g = GATES[mode] * hidden
    per_dir_upper = g * hidden * dirs + g * hidden  # upper layers read the previous layer's outputs
    biases = layers * dirs * 2 * g
    first = (flat.size - biases - (layers - 1) * dirs * per_dir_upper) // dirs - g * hidden
    in_size = first // g
    out, pos = {}, 0
    for layer in range(layers):
        size_in = in_size if layer == 0 else hidden * dirs
        for d in range(dirs):
            wi = flat[pos:pos + g * size_in].reshape(g, size_in)
            pos += g * size_in
            wh = flat[pos:pos + g * hidden].reshape(g, hidden)
            pos += g * hidden
            out[(layer, d)] = [wi, wh]
    for layer in range(layers):
        for d in range(dirs):
            out[(layer, d)] += [flat[pos:pos + g], flat[pos + g:pos + 2 * g]]
            pos += 2 * g
    if pos != flat.size or in_size <= 0:
        return None
    return out


def _reorder(mat, mode, hidden):
    blocks = [mat[i * hidden:(i + 1) * hidden] for i in range(GATES[mode])]
    return np.concatenate([blocks[i] for i in ORDER[mode]], axis=0)


@TABLE.register("RNN", params=(1,), lazy_zeros=True)
def rnn(ctx, node, inputs):
    a = attrs(node)
    mode, hidden, layers = a.str("mode"), a.int("state_size"), a.int("num_layers", 1)
    dirs = 2 if a.bool("bidirectional", False) else 1
    if mode not in GATES:
        raise ctx.unsupported(f"mode={mode}")
    for unsupported in ("projection_size", "lstm_state_clip_min", "lstm_state_clip_max"):
        if a.has(unsupported):
            raise ctx.unsupported(f"{unsupported}={a.str(unsupported)}")
    if a.bool("use_sequence_length", False):
        raise ctx.unsupported("use_sequence_length=True")
    flat = ctx.value(inputs[1])
    if flat is None:
        raise ctx.unsupported("parameters that are not constant")
    weights = _split_params(np.asarray(flat).reshape(-1), mode, layers, dirs, hidden)
    if weights is None:
        from onnxhub.errors import InvalidModel

        raise InvalidModel(f"node {node.name!r} (RNN): {flat.size} parameters do not fit mode={mode} "
                           f"state_size={hidden} num_layers={layers} bidirectional={dirs == 2}")
    x = inputs[0]
    h0 = inputs[2] if len(inputs) > 2 else None
    c0 = inputs[3] if len(inputs) > 3 and mode == "lstm" else None
    op = {"lstm": "LSTM", "gru": "GRU"}.get(mode, "RNN")
    extra = {"linear_before_reset": 1} if mode == "gru" else {}
    if mode.startswith("rnn_"):
        extra["activations"] = ["Relu" if mode == "rnn_relu" else "Tanh"] * dirs
    states_h, states_c = [], []
    for layer in range(layers):
        per_dir = [weights[(layer, d)] for d in range(dirs)]
        w = ctx.const(np.stack([_reorder(p[0], mode, hidden) for p in per_dir]), name=f"{node.name}_l{layer}_W")
        r = ctx.const(np.stack([_reorder(p[1], mode, hidden) for p in per_dir]), name=f"{node.name}_l{layer}_R")
        b = ctx.const(np.stack([np.concatenate([_reorder(p[2], mode, hidden), _reorder(p[3], mode, hidden)])
                                for p in per_dir]), name=f"{node.name}_l{layer}_B")
        args = [x, w, r, b, ""]
        lo, hi = layer * dirs, (layer + 1) * dirs
        args.append(_layer_state(ctx, h0, lo, hi))
        if mode == "lstm":
            args.append(_layer_state(ctx, c0, lo, hi))
        while args and args[-1] == "":
            args.pop()
        n_out = 3 if mode == "lstm" else 2
        outs = ctx.make(op, args, n_out, hidden_size=hidden, direction="bidirectional" if dirs == 2 else "forward",
                        **extra)
        # Y: (T, D, N, H) -> (T, N, D*H), the next layer's input and MXNet's output layout.
        y = ctx.one("Transpose", [outs[0]], perm=[0, 2, 1, 3])
        x = ctx.one("Reshape", [y, ctx.ints([0, 0, -1])])
        states_h.append(outs[1])
        if mode == "lstm":
            states_c.append(outs[2])
    results = [x]
    if a.bool("state_outputs", False):
        results.append(states_h[0] if layers == 1 else ctx.one("Concat", states_h, axis=0))
        if mode == "lstm":
            results.append(states_c[0] if layers == 1 else ctx.one("Concat", states_c, axis=0))
    return results


def _layer_state(ctx, state, lo, hi):
    if state is None or ctx.is_lazy_zeros(state):
        return ""  # ONNX's default initial state is zeros
    return ctx.slice(state, [lo], [hi], axes=[0])
