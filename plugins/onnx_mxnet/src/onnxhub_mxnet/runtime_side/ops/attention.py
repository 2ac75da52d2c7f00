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
