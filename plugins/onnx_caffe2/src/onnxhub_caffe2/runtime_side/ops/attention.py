"""ONNX Attention (opset 23+) composed of Caffe2 ops: BatchMatMul, Scale, Tanh, Softmax, Where, Concat.

Causal and sliding-window masks are position patterns worked out from the sequence lengths
(metadata, as Trilu's band); the attention mask, the scores and every product are Caffe2's.
"""

import numpy as np

from .common import TABLE, c1, cast
from .elementwise import binary, expand, unary
from .reduce import reduce
from .shape import concat, gather, pad, reshape, transpose

_NEG_INF = np.array([-np.inf], np.float32)


def _heads(x, n):
    """[B, S, n*h] -> [B, n, S, h]."""
    b, s, hidden = x.shape
    return transpose([reshape(x, (b, s, n, hidden // n))], {"perm": [0, 2, 1, 3]})[0]


def _select(allowed, shape):
    """0 where allowed, -inf elsewhere (Caffe2's Where on the broadcast pattern)."""
    allowed = expand(allowed, shape)
    zeros = c1("ConstantFill", [allowed], value=0.0, dtype=1).reshape(shape)
    return c1("Where", [allowed, zeros, expand(_NEG_INF.reshape([1] * len(shape)), shape)]).reshape(shape)


def _bias(attrs, mask, q_len, kv_len, past_len, nonpad, batch):
    """The additive bias of the scores: the mask (padded to kv_len), causal, sliding window, padding."""
    bias = None
    if mask is not None:
        width = kv_len - mask.shape[-1]
        if width > 0:
            pads = [0] * (2 * mask.ndim)
            pads[2 * mask.ndim - 1] = width
            fill = np.array(False) if mask.dtype == np.bool_ else np.array(-np.inf, mask.dtype)
            mask = pad(mask, pads, "constant", fill)
        bias = _select(mask, mask.shape) if mask.dtype == np.bool_ else cast(mask, "float32")
    left, right = attrs.get("left_window_size", -1), attrs.get("right_window_size", -1)
    causal = attrs.get("is_causal", 0)
    if (causal or left >= 0 or right >= 0) and nonpad is not None and past_len == 0:
        raise NotImplementedError("a causal or windowed mask with nonpad_kv_seqlen")
    i = np.arange(q_len).reshape(q_len, 1) + past_len  # absolute query positions (metadata)
    j = np.arange(kv_len).reshape(1, kv_len)
    allowed = np.ones((q_len, kv_len), np.bool_)
    if causal:
        allowed &= j <= i
    if left >= 0:
        allowed &= i - j <= left
    if right >= 0:
        allowed &= j - i <= right
    if not allowed.all():
        pattern = _select(allowed, (q_len, kv_len))
        bias = pattern if bias is None else binary("Add", bias, pattern)
    if nonpad is not None:  # keys at or past each batch's length are padding (Caffe2's LT)
        keep = c1("LT", [j.astype(np.int64), cast(nonpad, "int64").reshape(batch, 1)]).reshape(batch, kv_len)
        padding = _select(keep.reshape(batch, 1, 1, kv_len), (batch, 1, 1, kv_len))
        bias = padding if bias is None else binary("Add", bias, padding)
    return bias


@TABLE.register("Attention", since=23)
def attention(inputs, attrs):
    inputs = list(inputs) + [None] * (7 - len(inputs))
    q, k, v, mask, past_k, past_v, nonpad = inputs[:7]
    dtype = q.dtype
    q, k, v = (cast(t, "float32") for t in (q, k, v))
    three_d = q.ndim == 3
    if three_d:
        q, k, v = _heads(q, attrs["q_num_heads"]), _heads(k, attrs["kv_num_heads"]), _heads(v, attrs["kv_num_heads"])
    past_len = 0
    if past_k is not None:
        past_len = past_k.shape[2]
        k = concat([cast(past_k, "float32"), k], {"axis": 2})[0]
        v = concat([cast(past_v, "float32"), v], {"axis": 2})[0]
    present_k, present_v = k, v
    batch, heads, q_len = q.shape[0], q.shape[1], q.shape[2]
    kv_len = k.shape[2]
    if heads != k.shape[1]:  # grouped-query attention: each key/value head serves heads/kv_heads queries
        reps = heads // k.shape[1]
        idx = np.array([h // reps for h in range(heads)], np.int64)
        k, v = gather(k, idx, 1), gather(v, idx, 1)
    scale = attrs.get("scale")
    scale = float(np.sqrt(np.float32(scale if scale is not None else 1.0 / np.sqrt(q.shape[3]))))
    qs = c1("Scale", [q], scale=scale).reshape(q.shape)
    ks = c1("Scale", [k], scale=scale).reshape(k.shape)
    scores = c1("BatchMatMul", [qs, ks], trans_b=1).reshape((batch, heads, q_len, kv_len))
    softcap = attrs.get("softcap")
    if softcap:
        scores = c1("Scale", [unary("Tanh", c1("Scale", [scores], scale=1.0 / softcap))],
                    scale=float(softcap)).reshape(scores.shape)
    qk_out = scores
    bias = _bias(attrs, mask, q_len, kv_len, past_len, nonpad, batch)
    with_bias = scores if bias is None else binary("Add", scores, bias)
    shape = with_bias.shape
    mode = attrs.get("qk_matmul_output_mode", 0)
    if mode == 2:
        qk_out = with_bias
    probs = c1("Softmax", [with_bias], axis=len(shape) - 1).reshape(shape)
    if bias is not None:  # a row whose every key is masked attends nothing: zeros, as ONNX says
        full = expand(bias, shape)
        masked = c1("EQ", [reduce("ReduceMax", full, [len(shape) - 1], 1), _NEG_INF]).reshape(shape[:-1] + (1,))
        probs = c1("Where", [expand(masked, shape), c1("ConstantFill", [probs], value=0.0, dtype=1), probs])
        probs = probs.reshape(shape)
    if mode == 3:
        qk_out = probs
    y = c1("BatchMatMul", [probs, v], broadcast=1)
    y = y.reshape(shape[:-1] + (v.shape[-1],))
    if three_d:
        y = transpose([y], {"perm": [0, 2, 1, 3]})[0]
        y = reshape(y, (y.shape[0], y.shape[1], y.shape[2] * y.shape[3]))
    outs = [cast(y, dtype), cast(present_k, dtype), cast(present_v, dtype), cast(qk_out, dtype)]
    return outs[:attrs["_outputs"]]


@TABLE.register("RotaryEmbedding", since=23)
def rotary_embedding(inputs, attrs):
    """x1*cos - x2*sin, x1*sin + x2*cos on the rotated part of each head (halves or interleaved pairs),
    caches picked by position by Caffe2's Gather; the rest of the head passes through."""
    x, cos, sin = inputs[0], inputs[1], inputs[2]
    pos = inputs[3] if len(inputs) > 3 else None
    shape = x.shape
    t = transpose([x], {"perm": [0, 2, 1, 3]})[0] if x.ndim == 4 else x  # [B, S, H, h]
    if t.ndim == 3:
        heads = attrs["num_heads"]
        t = reshape(t, (t.shape[0], t.shape[1], heads, t.shape[2] // heads))
    head = t.shape[3]
    dim = attrs.get("rotary_embedding_dim") or head
    if pos is not None:
        cos, sin = gather(cos, cast(pos, "int64"), 0), gather(sin, cast(pos, "int64"), 0)
    cos = reshape(cos, cos.shape[:-1] + (1, cos.shape[-1]))
    sin = reshape(sin, sin.shape[:-1] + (1, sin.shape[-1]))
    half = dim // 2
    if attrs.get("interleaved", 0):
        i1, i2 = np.arange(0, dim, 2, dtype=np.int64), np.arange(1, dim, 2, dtype=np.int64)
    else:
        i1, i2 = np.arange(half, dtype=np.int64), np.arange(half, dim, dtype=np.int64)
    x1, x2 = gather(t, i1, 3), gather(t, i2, 3)
    real = binary("Sub", binary("Mul", cos, x1), binary("Mul", sin, x2))
    imag = binary("Add", binary("Mul", sin, x1), binary("Mul", cos, x2))
    if attrs.get("interleaved", 0):
        pairs = concat([reshape(real, real.shape + (1,)), reshape(imag, imag.shape + (1,))], {"axis": 4})[0]
        rotated = reshape(pairs, real.shape[:3] + (dim,))
    else:
        rotated = concat([real, imag], {"axis": 3})[0]
    if dim < head:
        rotated = concat([rotated, gather(t, np.arange(dim, head, dtype=np.int64), 3)], {"axis": 3})[0]
    if len(shape) == 3:
        return [reshape(rotated, shape)]
    return [transpose([rotated], {"perm": [0, 2, 1, 3]})[0]]
