"""Attention (opset 23)."""

import math

import numpy as onp
from mxnet import np

from .common import TABLE, pad_constant


@TABLE.register("Attention")
def attention(inputs, attrs):
    q, k, v = inputs[0], inputs[1], inputs[2]
    mask = inputs[3] if len(inputs) > 3 else None
    past_k = inputs[4] if len(inputs) > 4 else None
    past_v = inputs[5] if len(inputs) > 5 else None
    if len(inputs) > 6 and inputs[6] is not None:
        raise NotImplementedError("Attention with nonpad_kv_seqlen")
    if attrs.get("left_window_size", -1) >= 0 or attrs.get("right_window_size", -1) >= 0:
        raise NotImplementedError("Attention with sliding windows")
    dtype = q.dtype
    work = "float32" if dtype == onp.float16 else str(dtype)
    q, k, v = q.astype(work), k.astype(work), v.astype(work)
    three_d = q.ndim == 3
    if three_d:
        qh, kvh = attrs["q_num_heads"], attrs["kv_num_heads"]
        q = np.transpose(q.reshape(q.shape[0], q.shape[1], qh, -1), axes=(0, 2, 1, 3))
        k = np.transpose(k.reshape(k.shape[0], k.shape[1], kvh, -1), axes=(0, 2, 1, 3))
        v = np.transpose(v.reshape(v.shape[0], v.shape[1], kvh, -1), axes=(0, 2, 1, 3))
    scale = attrs.get("scale")
    scale = math.sqrt(scale if scale is not None else 1 / math.sqrt(q.shape[3]))
    if past_k is not None:
        k = np.concatenate([past_k.astype(work), k], axis=2)
        v = np.concatenate([past_v.astype(work), v], axis=2)
    present_k, present_v = k, v
    lq, lk = q.shape[2], k.shape[2]
    bias = np.zeros((lq, lk), dtype=work)
    if mask is not None:
        if mask.dtype == onp.bool_:
            mask = np.where(mask, np.zeros(mask.shape, dtype=work), np.full(mask.shape, -onp.inf, dtype=work))
        mask = mask.astype(work)
        if mask.shape[-1] < lk:
            width = tuple([(0, 0)] * (mask.ndim - 1) + [(0, lk - mask.shape[-1])])
            mask = pad_constant(mask, width, -onp.inf)
        bias = bias + mask
    if attrs.get("is_causal", 0):
        offset = past_k.shape[2] if past_k is not None else 0
        i = onp.arange(lq).reshape(lq, 1)
        j = onp.arange(lk).reshape(1, lk)
        causal = onp.where(j <= i + offset, 0.0, -onp.inf).astype(work)
        bias = bias + np.array(causal)
    heads_q, heads_kv = q.shape[1], k.shape[1]
    if heads_q != heads_kv and heads_q % heads_kv == 0:
        reps = heads_q // heads_kv
        k, v = np.repeat(k, reps, axis=1), np.repeat(v, reps, axis=1)
    scores = np.matmul(q * scale, np.swapaxes(k * scale, 2, 3))
    softcap = attrs.get("softcap")
    if softcap:
        scores = np.tanh(scores / softcap) * softcap
    mode = attrs.get("qk_matmul_output_mode", 0)
    qk_out = scores
    scores = scores + bias
    if mode == 2:
        qk_out = scores
    peak = np.max(scores, axis=-1, keepdims=True)
    dead = np.isneginf(np.max(bias + np.zeros(scores.shape, dtype=work), axis=-1, keepdims=True))
    safe = np.where(np.isneginf(peak), np.zeros_like(peak), peak)
    e = np.exp(scores - safe)
    total = np.sum(e, axis=-1, keepdims=True)
    probs = e / np.where(total == 0, np.ones_like(total), total)
    probs = np.where(dead, np.zeros_like(probs), probs)
    if mode == 3:
        qk_out = probs
    y = np.matmul(probs, v)
    if three_d:
        y = np.transpose(y, axes=(0, 2, 1, 3)).reshape(y.shape[0], y.shape[2], -1)
    outs = [y.astype(dtype), present_k.astype(dtype), present_v.astype(dtype), qk_out.astype(dtype)]
    return outs[:attrs["_outputs"]]


@TABLE.register("RotaryEmbedding", since=23)
def rotary_embedding(inputs, attrs):
    """Rotary position embedding (ONNX's formula), every step an MXNet kernel."""
    from mxnet import np as mnp

    x, cos, sin = inputs[0], inputs[1], inputs[2]
    positions = inputs[3] if len(inputs) > 3 else None
    shape = x.shape
    if x.ndim == 4:
        x = mnp.transpose(x, (0, 2, 1, 3))
    else:
        heads = attrs.get("num_heads", 0)
        if not heads:
            raise NotImplementedError("RotaryEmbedding of a 3-D input without num_heads")
        x = x.reshape(shape[0], shape[1], heads, shape[2] // heads)
    dim = attrs.get("rotary_embedding_dim", 0) or x.shape[3]
    rot, rest = x[:, :, :, :dim], x[:, :, :, dim:]
    if positions is not None:
        cos, sin = mnp.take(cos, positions, axis=0), mnp.take(sin, positions, axis=0)
    cos, sin = mnp.expand_dims(cos, 2), mnp.expand_dims(sin, 2)
    if attrs.get("interleaved", 0):
        x1, x2 = rot[:, :, :, 0::2], rot[:, :, :, 1::2]
    else:
        x1, x2 = rot[:, :, :, :dim // 2], rot[:, :, :, dim // 2:]
    real, imag = cos * x1 - sin * x2, sin * x1 + cos * x2
    if attrs.get("interleaved", 0):
        rot = mnp.concatenate([mnp.expand_dims(real, -1), mnp.expand_dims(imag, -1)], axis=-1).reshape(rot.shape)
    else:
        rot = mnp.concatenate([real, imag], axis=-1)
    out = mnp.concatenate([rot, rest], axis=-1) if rest.shape[-1] else rot
    out = out.reshape(shape) if len(shape) == 3 else mnp.transpose(out, (0, 2, 1, 3))
    return [out.astype(inputs[0].dtype)]


def _heads(x, heads):
    b, t, hd = x.shape
    return np.transpose(x.reshape(b, t, heads, hd // heads), (0, 2, 1, 3))


@TABLE.register("LinearAttention")
def linear_attention(inputs, attrs):
    """Recurrent linear attention (linear / gated / delta / gated_delta state updates, ONNX's
    formulas) stepped over time in float32, every step MXNet kernels."""
    q, k, v = inputs[0], inputs[1], inputs[2]
    past = inputs[3] if len(inputs) > 3 else None
    decay = inputs[4] if len(inputs) > 4 else None
    beta = inputs[5] if len(inputs) > 5 else None
    rule = attrs.get("update_rule", "gated_delta")
    hq, hkv = attrs["q_num_heads"], attrs["kv_num_heads"]
    gating, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    if (gating and decay is None) or (delta and beta is None):
        raise NotImplementedError("LinearAttention %s without its decay/beta input" % rule)
    b, t, _ = q.shape
    dk, dv = q.shape[-1] // hq, v.shape[-1] // hkv
    group = hq // hkv
    q4, k4, v4 = (_heads(x, h).astype("float32") for x, h in ((q, hq), (k, hkv), (v, hkv)))
    if gating:
        if decay.shape[-1] == hkv:
            decay4 = np.transpose(decay.reshape(b, t, hkv, 1), (0, 2, 1, 3)).astype("float32")
        else:
            decay4 = _heads(decay, hkv).astype("float32")
    if delta:
        beta4 = np.transpose(beta.reshape(b, t, beta.shape[-1], 1), (0, 2, 1, 3)).astype("float32")
    state = past.astype("float32") if past is not None else np.zeros((b, hkv, dk, dv), dtype="float32")
    scale = attrs.get("scale", 0.0) or 1.0 / math.sqrt(dk)
    outs = []
    for i in range(t):
        k_t, v_t = k4[:, :, i, :], v4[:, :, i, :]
        if gating:
            state = state * np.expand_dims(np.exp(decay4[:, :, i, :]), -1)
        if delta:
            retrieved = np.sum(state * np.expand_dims(k_t, -1), axis=2)
            v_t = beta4[:, :, i, :] * (v_t - retrieved)
        state = state + np.expand_dims(k_t, -1) * np.expand_dims(v_t, -2)
        read = state if group == 1 else np.repeat(state, group, axis=1)
        outs.append(scale * np.sum(np.expand_dims(q4[:, :, i, :], -1) * read, axis=2))
    out = np.stack(outs, axis=2)  # (B, Hq, T, dv)
    out = np.transpose(out, (0, 2, 1, 3)).reshape(b, t, hq * dv).astype(q.dtype)
    return [out, state.astype(past.dtype if past is not None else q.dtype)]
