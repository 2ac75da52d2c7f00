"""Recurrent layers (LSTM, GRU, RNN), unrolled over time."""

from mxnet import np, npx

from .common import TABLE


def _recurrent(kind):
    """ONNX LSTM / GRU / RNN unrolled over time with MXNet's matmul and activations."""
    def run(inputs, attrs):
        x, w, r = inputs[0], inputs[1], inputs[2]
        b = inputs[3] if len(inputs) > 3 else None
        if len(inputs) > 4 and inputs[4] is not None:
            raise NotImplementedError("sequence_lens")
        h0 = inputs[5] if len(inputs) > 5 else None
        c0 = inputs[6] if len(inputs) > 6 else None
        if attrs.get("layout", 0):
            x = np.swapaxes(x, 0, 1)
        hidden = attrs["hidden_size"]
        dirs = w.shape[0]
        if attrs.get("activations") or attrs.get("clip") or attrs.get("input_forget"):
            if kind != "RNN" or [a.lower() for a in attrs.get("activations", [])] not in ([], ["tanh"] * dirs):
                raise NotImplementedError("custom activations, clip or input_forget")
        steps, batch = x.shape[0], x.shape[1]
        ys, hs, cs = [], [], []
        for d in range(dirs):
            wd, rd = w[d], r[d]
            gates = wd.shape[0]
            bd = b[d][:gates] + b[d][gates:] if b is not None else None
            rb = b[d][gates:] if b is not None else None
            h = h0[d] if h0 is not None else np.zeros((batch, hidden), dtype=x.dtype)
            c = c0[d] if c0 is not None else np.zeros((batch, hidden), dtype=x.dtype)
            order = range(steps - 1, -1, -1) if (attrs.get("direction") == "reverse" or d == 1) else range(steps)
            out = [None] * steps
            for t in order:
                xt = x[t]
                if kind == "GRU":
                    xw = np.matmul(xt, wd.T) + (b[d][:gates] if b is not None else 0)
                    z = npx.sigmoid(xw[:, :hidden] + np.matmul(h, rd[:hidden].T) + (rb[:hidden] if rb is not None else 0))
                    rr = npx.sigmoid(xw[:, hidden:2 * hidden] + np.matmul(h, rd[hidden:2 * hidden].T)
                                     + (rb[hidden:2 * hidden] if rb is not None else 0))
                    if attrs.get("linear_before_reset", 0):
                        hh = np.matmul(h, rd[2 * hidden:].T) + (rb[2 * hidden:] if rb is not None else 0)
                        n = np.tanh(xw[:, 2 * hidden:] + rr * hh)
                    else:
                        n = np.tanh(xw[:, 2 * hidden:] + np.matmul(rr * h, rd[2 * hidden:].T)
                                    + (rb[2 * hidden:] if rb is not None else 0))
                    h = (1 - z) * n + z * h
                else:
                    g = np.matmul(xt, wd.T) + np.matmul(h, rd.T) + (bd if bd is not None else 0)
                    if kind == "LSTM":
                        i_, o_, f_, c_ = (g[:, k * hidden:(k + 1) * hidden] for k in range(4))
                        c = npx.sigmoid(f_) * c + npx.sigmoid(i_) * np.tanh(c_)
                        h = npx.sigmoid(o_) * np.tanh(c)
                    else:
                        h = np.tanh(g)
                out[t] = h
            ys.append(np.stack(out, axis=0))
            hs.append(h)
            cs.append(c)
        y = np.stack(ys, axis=1)  # (T, D, N, H)
        yh, yc = np.stack(hs, axis=0), np.stack(cs, axis=0)
        if attrs.get("layout", 0):
            y, yh, yc = np.transpose(y, axes=(2, 0, 1, 3)), np.swapaxes(yh, 0, 1), np.swapaxes(yc, 0, 1)
        outs = [y, yh, yc][:attrs["_outputs"]]
        return [o.astype(x.dtype) for o in outs]
    return run


TABLE.add("LSTM", _recurrent("LSTM"))
TABLE.add("GRU", _recurrent("GRU"))
TABLE.add("RNN", _recurrent("RNN"))
