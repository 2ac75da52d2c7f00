"""Attention (opset 23) composed from CNTK ops (CNTK has no attention kernel), following ONNX's formula."""

import math

import cntk as C
import numpy as np

from .common import TABLE, Empty, T, out
from .nn import _matmul
from .shape import reshape_to, transpose_to


def _heads(x, heads):
    b, s, hidden = x.shape
    return transpose_to(reshape_to(x, (b, s, heads, hidden // heads)), (0, 2, 1, 3))


def _repeat_heads(x, reps):
    """np.repeat along the heads axis (1) by CNTK slices: h0, h0, h1, h1..."""
    pieces = [C.slice(x.var, 1, h, h + 1) for h in range(x.shape[1]) for _ in range(reps)]
    return T(C.splice(*pieces, axis=1), x.dtype)


def _full(shape, fill, dtype):
    return C.constant(fill, shape=tuple(shape), dtype=dtype)


@TABLE.register("Attention", since=23)
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
    work = q.var.dtype
    three_d = q.rank == 3
    if three_d:
        q, k, v = _heads(q, attrs["q_num_heads"]), _heads(k, attrs["kv_num_heads"]), _heads(v, attrs["kv_num_heads"])
    scale = attrs.get("scale")
    scale = math.sqrt(scale if scale is not None else 1 / math.sqrt(q.shape[3]))
    if past_k is not None and not isinstance(past_k, Empty):
        k = T(C.splice(past_k.var, k.var, axis=2), dtype)
        v = T(C.splice(past_v.var, v.var, axis=2), dtype)
    present_k, present_v = k, v
    lq, lk = q.shape[2], k.shape[2]
    bias = _full((lq, lk), 0.0, work)
    if mask is not None:
        mv = mask.var
        if mask.dtype == "bool":
            mv = C.element_select(mv, C.zeros_like(mv), C.zeros_like(mv) - np.inf)
        if np.dtype(mv.dtype) != np.dtype(work):
            mv = C.cast(mv, work)
        if mask.shape[-1] < lk:
            pattern = [(0, 0)] * (mask.rank - 1) + [(0, lk - mask.shape[-1])]
            mv = C.pad(mv, pattern=pattern, mode=C.CONSTANT_PAD, constant_value=-np.inf)
        bias = bias + mv
    if attrs.get("is_causal", 0):
        offset = past_k.shape[2] if past_k is not None else 0
        allowed = np.arange(lk).reshape(1, lk) <= np.arange(lq).reshape(lq, 1) + offset
        bias = bias + C.constant(np.where(allowed, 0.0, -np.inf).astype(work))
    if q.shape[1] != k.shape[1] and q.shape[1] % k.shape[1] == 0:
        reps = q.shape[1] // k.shape[1]
        k, v = _repeat_heads(k, reps), _repeat_heads(v, reps)
    kt = transpose_to(T(k.var * scale, dtype), (0, 1, 3, 2))
    scores = _matmul(T(q.var * scale, dtype), kt).var
    softcap = attrs.get("softcap")
    if softcap:
        scores = C.tanh(scores / softcap) * softcap
    mode = attrs.get("qk_matmul_output_mode", 0)
    qk_out = scores
    scores = scores + bias
    if mode == 2:
        qk_out = scores
    # Softmax over the keys; a row every key of which is masked gives zeros (ONNX), not NaN.
    peak = C.reduce_max(scores, axis=-1)
    dead = C.equal(C.reduce_max(bias + C.zeros_like(scores), axis=-1), -np.inf)
    safe = C.element_select(C.equal(peak, -np.inf), C.zeros_like(peak), peak)
    e = C.exp(scores - safe)
    total = C.reduce_sum(e, axis=-1)
    probs = e / C.element_select(C.equal(total, 0), C.ones_like(total), total)
    probs = C.element_select(dead, C.zeros_like(probs), probs)
    if mode == 3:
        qk_out = probs
    y = _matmul(T(probs, dtype), v)
    if three_d:
        y = transpose_to(y, (0, 2, 1, 3))
        y = reshape_to(y, (y.shape[0], y.shape[1], y.shape[2] * y.shape[3]))
    outs = [out(y.var, dtype), out(present_k.var, dtype), out(present_v.var, dtype), out(qk_out, dtype)]
    return outs[:attrs["_outputs"]]
