"""Convolutions, pooling, dense layers and softmax, with ONNX's rules on Caffe2's kernels.

Caffe2's Conv/pooling take ONNX's explicit ``pads`` layout (all begins, then all ends);
``auto_pad`` and ``ceil_mode`` are resolved here into explicit pads (metadata). ONNX's
opset-13 Softmax normalises one axis where Caffe2's flattens from the axis: the axis is
moved last (Caffe2 Transpose) and moved back.
"""

import numpy as np

from .common import TABLE, c1, c2, cast
from .elementwise import binary, unary
from .shape import reshape, transpose


def _geometry(x, attrs, kernel, transpose_=False):
    n = len(kernel)
    strides = list(attrs.get("strides") or [1] * n)
    dil = list(attrs.get("dilations") or [1] * n)
    auto = attrs.get("auto_pad", "NOTSET")
    pads = list(attrs.get("pads") or [0] * (2 * n))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - size, 0)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + n] = lo, total - lo
    elif auto == "VALID":
        pads = [0] * (2 * n)
    return strides, dil, pads


def _f32(fn, inputs):
    """Caffe2's conv/pool kernels hold float32: float64 inputs go through it by Caffe2 Cast."""
    if inputs[0].dtype.name == "float32":
        return fn(inputs)
    return cast(fn([cast(v, "float32") if v is not None else None for v in inputs]), inputs[0].dtype)


@TABLE.register("Conv")
def conv(inputs, attrs):
    def run(inputs):
        x, w = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) > 2 else None
        kernel = list(attrs.get("kernel_shape") or w.shape[2:])
        strides, dil, pads = _geometry(x, attrs, kernel)
        ins = [x, w] + ([b] if b is not None else [])
        return c1("Conv", ins, kernels=kernel, strides=strides, dilations=dil, pads=pads,
                  group=attrs.get("group", 1), order="NCHW")
    return [_f32(run, inputs)]


@TABLE.register("ConvTranspose")
def conv_transpose(inputs, attrs):
    """Caffe2's 2-D ConvTranspose (1-D as 2-D with a unit axis); output_shape/auto_pad resolved to
    explicit pads, and a negative total padding to Caffe2's ``adjs`` (extra output at the end)."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = list(attrs.get("kernel_shape") or w.shape[2:])
    n = len(kernel)
    if n == 1:
        one = dict(attrs, kernel_shape=kernel + [1], strides=list(attrs.get("strides") or [1]) + [1],
                   dilations=list(attrs.get("dilations") or [1]) + [1],
                   output_padding=list(attrs.get("output_padding") or [0]) + [0])
        if attrs.get("pads"):
            one["pads"] = [attrs["pads"][0], 0, attrs["pads"][1], 0]
        if attrs.get("output_shape"):
            one["output_shape"] = list(attrs["output_shape"])[-1:] + [1]
        y = conv_transpose([reshape(x, x.shape + (1,)), reshape(w, w.shape + (1,))] + ([b] if b is not None else []),
                           one)[0]
        return [reshape(y, y.shape[:3])]
    if n != 2:
        raise NotImplementedError("a %d-D ConvTranspose" % n)
    strides = list(attrs.get("strides") or [1] * n)
    dil = list(attrs.get("dilations") or [1] * n)
    if any(d != 1 for d in dil):
        raise NotImplementedError("dilated ConvTranspose")
    adj = list(attrs.get("output_padding") or [0] * n)
    pads = list(attrs.get("pads") or [0] * (2 * n))
    auto = attrs.get("auto_pad", "NOTSET")
    if attrs.get("output_shape") or auto in ("SAME_UPPER", "SAME_LOWER"):
        shape = list(attrs.get("output_shape") or [x.shape[2 + i] * strides[i] for i in range(n)])[-n:]
        for i in range(n):
            total = strides[i] * (x.shape[2 + i] - 1) + adj[i] + (kernel[i] - 1) * dil[i] + 1 - shape[i]
            if total < 0:
                pads[i], pads[i + n], adj[i] = 0, 0, adj[i] - total
                continue
            lo = total - total // 2 if auto == "SAME_LOWER" else total // 2
            pads[i], pads[i + n] = lo, total - lo
    group = attrs.get("group", 1)
    if b is None:  # Caffe2's ConvTranspose takes a bias: zeros from Caffe2's ConstantFill
        b = c1("ConstantFill", [], shape=[w.shape[1] * group], value=0.0)
    return [_f32(lambda ins: c1("ConvTranspose", ins, kernels=kernel, strides=strides, pads=pads, adjs=adj,
                                group=group, order="NCHW"), [x, w, b])]


def _pool_pads(x, attrs, kernel, strides, dil, pads):
    """End pads that make Caffe2's floor-mode output size ONNX's ceil-mode one (windows must start
    inside the input or its begin pad, as ONNX says)."""
    n = len(kernel)
    pads = list(pads)
    for i in range(n):
        size = x.shape[2 + i] + pads[i] + pads[i + n]
        span = (kernel[i] - 1) * dil[i] + 1
        out = -(-(size - span) // strides[i]) + 1
        if (out - 1) * strides[i] >= x.shape[2 + i] + pads[i]:
            out -= 1
        need = (out - 1) * strides[i] + span - size
        pads[i + n] += max(need, 0)
    return pads


def _pool(op, inputs, attrs):
    x = inputs[0]
    if x.dtype.name not in ("float32", "float64", "uint8", "int8") or op != "MaxPool" and x.dtype.kind != "f":
        raise NotImplementedError("a pool of %s" % x.dtype.name)  # 8-bit maxima are exact in float32
    kernel = list(attrs["kernel_shape"])
    strides, dil, pads = _geometry(x, attrs, kernel)
    ceil = attrs.get("ceil_mode", 0)
    if any(d != 1 for d in dil):
        return _dilated_pool(op, x, kernel, strides, dil, pads, ceil, attrs.get("count_include_pad", 0))
    base = list(pads)
    if ceil:
        pads = _pool_pads(x, attrs, kernel, strides, dil, pads)
    args = dict(kernels=kernel, strides=strides, pads=pads, order="NCHW")
    if op == "AveragePool":
        include = attrs.get("count_include_pad", 0)
        if include and pads != base:
            raise NotImplementedError("count_include_pad with ceil_mode")  # the ceil part never counts
        args["count_include_pad"] = bool(include)
    return _f32(lambda ins: c1(op, ins, **args), [x])


def _dilated_pool(op, x, kernel, strides, dil, pads, ceil, include):
    """Dilated pooling (Caffe2's pooling has no dilations): the input padded (Caffe2 Concat with a fill:
    -inf for max, 0 for average), one strided slice per kernel tap (Caffe2 Slice/Gather), combined by
    Caffe2's comparisons and Where (max) or Add and Div by the count of cells ONNX counts (average;
    the counts are a function of the shapes: metadata)."""
    import itertools

    from .elementwise import _minmax
    from .shape import pad, slice_

    n = len(kernel)
    spatial = x.shape[2:]
    outs, ends = [], []
    for i in range(n):
        total = spatial[i] + pads[i] + pads[i + n]
        span = (kernel[i] - 1) * dil[i] + 1
        if ceil:
            o = -(-(total - span) // strides[i]) + 1
            if (o - 1) * strides[i] >= spatial[i] + pads[i]:
                o -= 1
        else:
            o = (total - span) // strides[i] + 1
        outs.append(o)
        ends.append(pads[i + n] + max((o - 1) * strides[i] + span - total, 0))
    fill = np.array(-np.inf if op == "MaxPool" else 0.0, x.dtype)
    padded = pad(x, [0, 0] + list(pads[:n]) + [0, 0] + ends, "constant", fill)
    counted = np.zeros(padded.shape[2:], np.float64)  # which padded cells an average counts
    region = tuple(slice(0, pads[i] + spatial[i] + pads[i + n]) if include else slice(pads[i], pads[i] + spatial[i])
                   for i in range(n))
    counted[region] = 1.0
    acc, count = None, np.zeros(outs, np.float64)
    for tap in itertools.product(*[range(k) for k in kernel]):
        starts = [t * d for t, d in zip(tap, dil)]
        stops = [st + (o - 1) * s + 1 for st, o, s in zip(starts, outs, strides)]
        part = slice_(padded, starts, stops, list(range(2, 2 + n)), list(strides))
        count += counted[tuple(slice(a, b, s) for a, b, s in zip(starts, stops, strides))]
        acc = part if acc is None else (_minmax([acc, part], "GT") if op == "MaxPool" else binary("Add", acc, part))
    if op == "MaxPool":
        return acc
    return binary("Div", acc, count.astype(x.dtype).reshape((1, 1) + tuple(outs)))


@TABLE.register("MaxPool")
def max_pool(inputs, attrs):
    if attrs["_outputs"] > 1:
        raise NotImplementedError("MaxPool indices")
    if attrs.get("storage_order", 0):
        raise NotImplementedError("storage_order")
    return [_pool("MaxPool", inputs, attrs)]


@TABLE.register("AveragePool")
def average_pool(inputs, attrs):
    return [_pool("AveragePool", inputs, attrs)]


def _global(op, x):
    """Caffe2's pooling with ``global_pooling`` (1-D to 3-D spatial inputs)."""
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    return _f32(lambda ins: c1(op, ins, global_pooling=True, order="NCHW"), [x]).reshape(shape)


@TABLE.register("GlobalAveragePool")
def global_average_pool(inputs, attrs):
    """Summed in float64 by Caffe2's ReduceSum: its float32 pooling rounds channel by channel
    differently, which equal channels (and a softmax after them) expose."""
    x = inputs[0]
    axes = list(range(2, x.ndim))
    total = c1("ReduceSum", [cast(x, "float64")], axes=axes, keepdims=1)
    count = np.array([float(np.prod(x.shape[2:]))], np.float64)
    return [cast(c1("Div", [total, count]), x.dtype).reshape(x.shape[:2] + (1,) * len(axes))]


@TABLE.register("GlobalMaxPool")
def global_max_pool(inputs, attrs):
    return [_global("MaxPool", inputs[0])]


@TABLE.register("LpPool")
def lp_pool(inputs, attrs):
    x = inputs[0]
    kernel = list(attrs["kernel_shape"])
    strides, dil, pads = _geometry(x, attrs, kernel)
    if any(d != 1 for d in dil) or attrs.get("ceil_mode", 0) or len(kernel) != 2:
        raise NotImplementedError("other than 2-D, undilated")  # Caffe2's 1-D LpPool aborts the process
    return [c1("LpPool", [x], kernels=kernel, strides=strides, pads=pads, p=float(attrs.get("p", 2)),
               order="NCHW")]


@TABLE.register("BatchNormalization")
def batch_norm(inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0) or attrs["_outputs"] > 1 and attrs["_opset"] >= 14:
        raise NotImplementedError("training mode")

    def run(ins):
        return c1("SpatialBN", ins, is_test=1, epsilon=float(attrs.get("epsilon", 1e-5)), order="NCHW")
    if x.ndim == 2:
        out = _f32(run, [reshape(x, x.shape + (1, 1)), scale, bias, mean, var])
        return [reshape(out, x.shape)]
    return [_f32(run, [x, scale, bias, mean, var]).reshape(x.shape)]


@TABLE.register("InstanceNormalization")
def instance_norm(inputs, attrs):
    x, scale, bias = inputs
    return [c1("InstanceNorm", [x, scale, bias], epsilon=float(attrs.get("epsilon", 1e-5)),
               order="NCHW").reshape(x.shape)]


@TABLE.register("LRN")
def lrn(inputs, attrs):
    x = inputs[0]
    return [c2("LRN", [x], 2, size=attrs["size"], alpha=float(attrs.get("alpha", 1e-4)),
               beta=float(attrs.get("beta", 0.75)), bias=float(attrs.get("bias", 1.0)), order="NCHW")[0]]


def matmul(a, b):
    """Caffe2's BatchMatMul (numpy broadcasting of batch dims) on float; integers through float64."""
    shape = np.matmul(np.empty(a.shape, np.bool_), np.empty(b.shape, np.bool_)).shape if a.size * b.size else None
    if a.dtype.name != "float32":
        out = c1("BatchMatMul", [cast(a, "float32"), cast(b, "float32")], broadcast=1)
        if np.issubdtype(a.dtype, np.integer):
            raise NotImplementedError("an integer MatMul")
        out = cast(out, a.dtype)
    else:
        out = c1("BatchMatMul", [a, b], broadcast=1)
    return out.reshape(shape) if shape is not None else out


@TABLE.register("MatMul")
def matmul_(inputs, attrs):
    return [matmul(inputs[0], inputs[1])]


@TABLE.register("Gemm")
def gemm(inputs, attrs):
    """alpha * op(A) op(B) + beta * C with Caffe2's MatMul (trans_a/trans_b), Scale and Add."""
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None

    def run(ins):
        a, b = ins[0], ins[1]
        y = c1("MatMul", [a, b], trans_a=attrs.get("transA", 0), trans_b=attrs.get("transB", 0))
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        if alpha != 1.0:
            y = c1("Scale", [y], scale=alpha)
        if len(ins) > 2 and ins[2] is not None:
            cc = ins[2] if beta == 1.0 else c1("Scale", [ins[2]], scale=beta).reshape(ins[2].shape)
            y = binary("Add", y, cc)
        return y
    return [_f32(run, [a, b] + ([c] if c is not None else []))]


def _last(x, axis, fn):
    """``fn`` over the last axis of ``x`` with ``axis`` moved there (Caffe2 Transpose) and back."""
    if axis == x.ndim - 1:
        return fn(x)
    perm = list(range(x.ndim))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return transpose([fn(transpose([x], {"perm": perm})[0])], {"perm": perm})[0]


def _softmax(x):
    return _f32(lambda ins: c1("Softmax", ins, axis=ins[0].ndim - 1), [x]).reshape(x.shape)


def _log_softmax(x):
    """x - max - log(sum(exp(x - max))) over the last axis, every step a Caffe2 op."""
    last = x.ndim - 1
    m = c1("ReduceMax", [x], axes=[last], keepdims=1)
    d = binary("Sub", x, m.reshape(x.shape[:-1] + (1,)))
    s = c1("ReduceSum", [unary("Exp", d)], axes=[last], keepdims=1)
    return binary("Sub", d, unary("Log", s.reshape(x.shape[:-1] + (1,))))


def _coerced(x, axis, fn):
    """The pre-13 form: x as 2-D [prod(shape[:axis]), prod(shape[axis:])], fn on its last axis."""
    flat = reshape(x, (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))))
    return reshape(fn(flat), x.shape)


@TABLE.register("Softmax", since=13)
def softmax_13(inputs, attrs):
    x = inputs[0]
    return [_last(x, attrs.get("axis", -1) % x.ndim, _softmax)]


@TABLE.register("Softmax", until=12)
def softmax_1(inputs, attrs):
    x = inputs[0]
    return [_coerced(x, attrs.get("axis", 1) % x.ndim, _softmax)]


@TABLE.register("LogSoftmax", since=13)
def log_softmax_13(inputs, attrs):
    x = inputs[0]
    return [_last(x, attrs.get("axis", -1) % x.ndim, _log_softmax)]


@TABLE.register("LogSoftmax", until=12)
def log_softmax_1(inputs, attrs):
    x = inputs[0]
    return [_coerced(x, attrs.get("axis", 1) % x.ndim, _log_softmax)]


def _hardmax(x):
    """One-hot of Caffe2's ArgMax (first maximum) over the last axis."""
    idx = c1("ArgMax", [x], axis=x.ndim - 1, keepdims=1).reshape(x.shape[:-1] + (1,))
    ar = np.arange(x.shape[-1], dtype=np.int64).reshape((1,) * (x.ndim - 1) + (-1,))
    hot = c1("EQ", [idx, ar]).reshape(x.shape)
    return cast(hot, x.dtype)


@TABLE.register("Hardmax", since=13)
def hardmax_13(inputs, attrs):
    x = inputs[0]
    return [_last(x, attrs.get("axis", -1) % x.ndim, _hardmax)]


@TABLE.register("Hardmax", until=12)
def hardmax_1(inputs, attrs):
    x = inputs[0]
    return [_coerced(x, attrs.get("axis", 1) % x.ndim, _hardmax)]


@TABLE.register("Dropout")
def dropout(inputs, attrs):
    """Inference: the identity (Caffe2's Copy) and an all-true mask."""
    x = inputs[0]
    if len(inputs) > 2 and inputs[2] is not None and bool(np.asarray(inputs[2]).reshape(-1)[0]):
        raise NotImplementedError("training mode")
    out = [c1("Copy", [x]).reshape(x.shape)]
    if attrs["_outputs"] > 1:
        ones = c1("ConstantFill", [x], value=1.0, dtype=1).reshape(x.shape) if x.size else x
        out.append(cast(ones, "bool"))
    return out
