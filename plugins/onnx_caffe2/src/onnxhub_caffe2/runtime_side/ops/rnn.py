"""RNN, GRU and LSTM unrolled over time with Caffe2 ops (MatMul with trans_b, Add, Sigmoid, Tanh, Relu, Mul),
forward, reverse or bidirectional, time-major or batch-major (``layout``), full-length sequences."""

import numpy as np

from .common import TABLE, c1
from .elementwise import binary, unary
from .shape import concat, gather, reshape, transpose

_ACT = {"Sigmoid": "Sigmoid", "Tanh": "Tanh", "Relu": "Relu"}


def _act(name, x):
    if name not in _ACT:
        raise NotImplementedError("activation %s" % name)
    return unary(_ACT[name], x)


def _rows(w, d, a, b):
    """Rows a..b of direction d's weight (Caffe2 Gather): [b - a, K]."""
    return gather(gather(w, np.array([d], np.int64), 0).reshape(w.shape[1:]), np.arange(a, b, dtype=np.int64), 0)


def _part(v, d, a, b):
    """Entries a..b of direction d's vector (bias, peepholes) by Caffe2's Gather."""
    return gather(reshape(gather(v, np.array([d], np.int64), 0), (v.shape[1],)), np.arange(a, b, dtype=np.int64), 0)


def _mm(x, w):
    return c1("MatMul", [x, w], trans_b=1)


def _setup(inputs, attrs, gates):
    inputs = list(inputs) + [None] * (8 - len(inputs))
    x, w, r, b, lens, h0 = inputs[:6]
    if attrs.get("layout", 0):
        x = transpose([x], {"perm": [1, 0, 2]})[0]
    seq, batch = x.shape[0], x.shape[1]
    if lens is not None and any(int(v) != seq for v in np.asarray(lens).reshape(-1)):
        raise NotImplementedError("sequence_lens shorter than the sequence")
    hidden = attrs.get("hidden_size") or r.shape[-1]
    dirs = 2 if attrs.get("direction", "forward") == "bidirectional" else 1
    return x, w, r, b, h0, seq, batch, hidden, dirs, inputs


def _steps(seq, d, attrs):
    reverse = attrs.get("direction", "forward") == "reverse" or d == 1
    return range(seq - 1, -1, -1) if reverse else range(seq)


def _finish(ys, hs, cs, attrs, seq, batch, hidden, dirs):
    """Y [seq, dirs, batch, H] (batch-major with layout 1), Y_h, Y_c."""
    y = concat([reshape(concat([reshape(ys[d][t], (1, 1, batch, hidden)) for d in range(dirs)], {"axis": 1})[0],
                        (1, dirs, batch, hidden)) for t in range(seq)], {"axis": 0})[0]
    yh = concat([reshape(h, (1, batch, hidden)) for h in hs], {"axis": 0})[0]
    yc = concat([reshape(c, (1, batch, hidden)) for c in cs], {"axis": 0})[0] if cs else None
    if attrs.get("layout", 0):
        y = transpose([y], {"perm": [2, 0, 1, 3]})[0]
        yh = transpose([yh], {"perm": [1, 0, 2]})[0]
        yc = transpose([yc], {"perm": [1, 0, 2]})[0] if yc is not None else None
    return [o for o in (y, yh, yc) if o is not None][:attrs["_outputs"]]


def _h0(h0, d, batch, hidden, attrs, dtype):
    if h0 is None:
        return np.zeros((batch, hidden), dtype)
    if attrs.get("layout", 0):
        h0 = transpose([h0], {"perm": [1, 0, 2]})[0]
    return reshape(gather(h0, np.array([d], np.int64), 0), (batch, hidden))


def _bias(b, d, a, bb, hidden, n):
    """W-bias + R-bias of gate rows a..bb (zeros without B)."""
    if b is None:
        return None
    return binary("Add", _part(b, d, a, bb), _part(b, d, n * hidden + a, n * hidden + bb))


@TABLE.register("RNN")
def rnn(inputs, attrs):
    x, w, r, b, h0, seq, batch, hidden, dirs, _ = _setup(inputs, attrs, 1)
    acts = attrs.get("activations") or ["Tanh"] * dirs
    ys, hs = [], []
    for d in range(dirs):
        wi, ri, bias = _rows(w, d, 0, hidden), _rows(r, d, 0, hidden), _bias(b, d, 0, hidden, hidden, 1)
        h, out = _h0(h0, d, batch, hidden, attrs, x.dtype), {}
        for t in _steps(seq, d, attrs):
            xt = reshape(gather(x, np.array([t], np.int64), 0), (batch, x.shape[2]))
            z = binary("Add", _mm(xt, wi), _mm(h, ri))
            h = _act(acts[d], binary("Add", z, bias) if bias is not None else z)
            out[t] = h
        ys.append(out)
        hs.append(h)
    return _finish(ys, hs, None, attrs, seq, batch, hidden, dirs)


def _gate(xt, h, w, r, wb, rb):
    """xt W^T + h R^T (+ Wb + Rb)."""
    v = binary("Add", _mm(xt, w), _mm(h, r))
    return v if wb is None else binary("Add", binary("Add", v, wb), rb)


@TABLE.register("GRU")
def gru(inputs, attrs):
    """Gates z, r, h; ``linear_before_reset`` applies r after R's product and bias."""
    x, w, r, b, h0, seq, batch, hidden, dirs, _ = _setup(inputs, attrs, 3)
    acts = attrs.get("activations") or ["Sigmoid", "Tanh"] * dirs
    lbr = attrs.get("linear_before_reset", 0)
    one = np.ones(1, x.dtype)
    ys, hs = [], []
    for d in range(dirs):
        f, g = acts[2 * d], acts[2 * d + 1]
        W = [_rows(w, d, k * hidden, (k + 1) * hidden) for k in range(3)]
        R = [_rows(r, d, k * hidden, (k + 1) * hidden) for k in range(3)]
        wb = [_part(b, d, k * hidden, (k + 1) * hidden) if b is not None else None for k in range(3)]
        rb = [_part(b, d, (3 + k) * hidden, (4 + k) * hidden) if b is not None else None for k in range(3)]
        h, out = _h0(h0, d, batch, hidden, attrs, x.dtype), {}
        for t in _steps(seq, d, attrs):
            xt = reshape(gather(x, np.array([t], np.int64), 0), (batch, x.shape[2]))
            z = _act(f, _gate(xt, h, W[0], R[0], wb[0], rb[0]))
            rr = _act(f, _gate(xt, h, W[1], R[1], wb[1], rb[1]))
            if lbr:
                rh = _mm(h, R[2])
                if b is not None:
                    rh = binary("Add", rh, rb[2])
                pre = binary("Add", _mm(xt, W[2]), binary("Mul", rr, rh))
                if b is not None:
                    pre = binary("Add", pre, wb[2])
            else:
                pre = _gate(xt, binary("Mul", rr, h), W[2], R[2], wb[2], rb[2])
            hh = _act(g, pre)
            h = binary("Add", binary("Mul", binary("Sub", one, z), hh), binary("Mul", z, h))
            out[t] = h
        ys.append(out)
        hs.append(h)
    return _finish(ys, hs, None, attrs, seq, batch, hidden, dirs)


@TABLE.register("LSTM")
def lstm(inputs, attrs):
    """Gates i, o, f, c (ONNX's order), optional peepholes P."""
    x, w, r, b, h0, seq, batch, hidden, dirs, inputs = _setup(inputs, attrs, 4)
    c0, p = inputs[6], inputs[7]
    if attrs.get("input_forget", 0):
        raise NotImplementedError("input_forget")
    acts = attrs.get("activations") or ["Sigmoid", "Tanh", "Tanh"] * dirs
    ys, hs, cs = [], [], []
    for d in range(dirs):
        f, g, hact = acts[3 * d], acts[3 * d + 1], acts[3 * d + 2]
        W = [_rows(w, d, k * hidden, (k + 1) * hidden) for k in range(4)]
        R = [_rows(r, d, k * hidden, (k + 1) * hidden) for k in range(4)]
        bias = [_bias(b, d, k * hidden, (k + 1) * hidden, hidden, 4) for k in range(4)]
        peep = [_part(p, d, k * hidden, (k + 1) * hidden) for k in range(3)] if p is not None else None
        h = _h0(h0, d, batch, hidden, attrs, x.dtype)
        c = _h0(c0, d, batch, hidden, attrs, x.dtype)
        out = {}
        for t in _steps(seq, d, attrs):
            xt = reshape(gather(x, np.array([t], np.int64), 0), (batch, x.shape[2]))
            lin = []
            for k in range(4):
                v = binary("Add", _mm(xt, W[k]), _mm(h, R[k]))
                lin.append(binary("Add", v, bias[k]) if bias[k] is not None else v)
            i_pre, o_pre, f_pre, c_pre = lin
            if peep is not None:
                i_pre = binary("Add", i_pre, binary("Mul", peep[0], c))
                f_pre = binary("Add", f_pre, binary("Mul", peep[2], c))
            i, fg = _act(f, i_pre), _act(f, f_pre)
            c = binary("Add", binary("Mul", fg, c), binary("Mul", i, _act(g, c_pre)))
            if peep is not None:
                o_pre = binary("Add", o_pre, binary("Mul", peep[1], c))
            h = binary("Mul", _act(f, o_pre), _act(hact, c))
            out[t] = h
        ys.append(out)
        hs.append(h)
        cs.append(c)
    return _finish(ys, hs, cs, attrs, seq, batch, hidden, dirs)

