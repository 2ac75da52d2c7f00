"""ONNX operators executed by real MXNet 1.9.1 kernels (``mxnet.np`` / ``mxnet.npx``).

Runtime-side code: runs inside the MXNet runtime (CPython 3.8-3.11, numpy 1.23) with
MXNet's numpy semantics switched on, so broadcasting, 0-d arrays and dtypes follow
ONNX closely. One small function per ONNX op, registered by decorator with the opset
range it handles: ``fn(inputs, attrs) -> list of outputs``; an omitted optional input
is ``None``. Shapes are metadata and may be read; every value is computed by MXNet.
"""

import math

import numpy as onp
from mxnet import np, npx

OPS = {}


def op(*names, since=1):
    def register(fn):
        for name in names:
            OPS[name] = (fn, since)
        return fn

    return register


def _ints(x):
    """A 1-D int tensor input (shape, axes, pads...) as a Python list: metadata for MXNet's calls."""
    return [int(v) for v in x.asnumpy().reshape(-1)] if x is not None else None


def _axes(node_axes, x, rank):
    axes = node_axes if node_axes is not None else (_ints(x) if x is not None else None)
    return None if axes is None else tuple(a % rank if rank else a for a in axes)


# -- element-wise -------------------------------------------------------------------
_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Max": np.maximum,
           "Min": np.minimum, "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
           "GreaterOrEqual": np.greater_equal, "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or,
           "BitwiseXor": np.bitwise_xor}


def _binary(fn):
    return lambda inputs, attrs: [fn(inputs[0], inputs[1])]


for _name, _fn in _BINARY.items():
    if _name in ("Max", "Min"):
        continue
    OPS[_name] = (_binary(_fn), 1)


@op("Div")
def div(inputs, attrs):
    a, b = inputs
    if onp.issubdtype(a.dtype, onp.integer):  # ONNX integer division truncates toward zero
        q = np.true_divide(a.astype("float64"), b.astype("float64"))
        return [np.trunc(q).astype(a.dtype)]
    return [np.true_divide(a, b).astype(a.dtype)]


@op("Mod")
def mod(inputs, attrs):
    a, b = inputs
    if attrs.get("fmod", 0):
        r = a - np.trunc(np.true_divide(a, b)) * b if onp.issubdtype(a.dtype, onp.floating) else \
            (a - (np.trunc(np.true_divide(a.astype("float64"), b.astype("float64")))).astype(a.dtype) * b)
        return [r.astype(a.dtype)]
    return [np.mod(a, b)]


def _variadic(fn, mean=False):
    def run(inputs, attrs):
        out = inputs[0]
        for x in inputs[1:]:
            out = fn(out, x)
        if mean:
            out = out / len(inputs)
        return [out]
    return run


OPS["Max"] = (_variadic(np.maximum), 1)
OPS["Min"] = (_variadic(np.minimum), 1)
OPS["Sum"] = (_variadic(np.add), 1)
OPS["Mean"] = (_variadic(np.add, mean=True), 1)

_UNARY = {"Abs": np.abs, "Neg": np.negative, "Exp": np.exp, "Log": np.log, "Sqrt": np.sqrt, "Floor": np.floor,
          "Ceil": np.ceil, "Sin": np.sin, "Cos": np.cos, "Tan": np.tan, "Asin": np.arcsin, "Acos": np.arccos,
          "Atan": np.arctan, "Sinh": np.sinh, "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh,
          "Atanh": np.arctanh, "Tanh": np.tanh, "Sign": np.sign, "Reciprocal": np.reciprocal, "Round": np.rint,
          "Not": np.logical_not, "IsNaN": np.isnan, "BitwiseNot": np.bitwise_not, "Identity": lambda x: x,
          "Sigmoid": npx.sigmoid, "Relu": npx.relu, "Erf": lambda x: npx.erf(x)}


def _unary(fn):
    return lambda inputs, attrs: [fn(inputs[0])]


for _name, _fn in _UNARY.items():
    OPS[_name] = (_unary(_fn), 1)


# MXNet 1.9's numpy namespace has no logical_and/or/xor; on booleans the bitwise ops are the same.
OPS["And"] = (_binary(np.bitwise_and), 1)
OPS["Or"] = (_binary(np.bitwise_or), 1)
OPS["Xor"] = (_binary(np.bitwise_xor), 1)


@op("IsInf")
def isinf(inputs, attrs):
    x = inputs[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if pos and neg:
        return [np.isinf(x)]
    if pos:
        return [np.isposinf(x)]
    if neg:
        return [np.isneginf(x)]
    return [np.zeros(x.shape, dtype="bool")]


@op("Clip")
def clip(inputs, attrs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("min")
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("max")
    out = x
    if lo is not None:
        out = np.maximum(out, lo)
    if hi is not None:
        out = np.minimum(out, hi)
    return [out.astype(x.dtype)]


@op("Where")
def where(inputs, attrs):
    c, a, b = inputs
    return [np.where(c, a, b)]


@op("Cast")
def cast(inputs, attrs):
    return [inputs[0].astype(attrs["to_dtype"])]


@op("CastLike")
def cast_like(inputs, attrs):
    return [inputs[0].astype(inputs[1].dtype)]


# -- activations ------------------------------------------------------------------------
@op("LeakyRelu")
def leaky_relu(inputs, attrs):
    return [npx.leaky_relu(inputs[0], act_type="leaky", slope=attrs.get("alpha", 0.01))]


@op("Elu")
def elu(inputs, attrs):
    x, alpha = inputs[0], attrs.get("alpha", 1.0)
    return [np.where(x > 0, x, alpha * (np.exp(x) - 1)).astype(x.dtype)]


@op("Selu")
def selu(inputs, attrs):
    x = inputs[0]
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return [(gamma * np.where(x > 0, x, alpha * (np.exp(x) - 1))).astype(x.dtype)]


@op("Celu")
def celu(inputs, attrs):
    x, alpha = inputs[0], attrs.get("alpha", 1.0)
    return [(np.maximum(x, 0) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))).astype(x.dtype)]


@op("ThresholdedRelu")
def thresholded_relu(inputs, attrs):
    x = inputs[0]
    return [np.where(x > attrs.get("alpha", 1.0), x, np.zeros_like(x))]


@op("HardSigmoid")
def hard_sigmoid(inputs, attrs):
    x = inputs[0]
    return [np.clip(attrs.get("alpha", 0.2) * x + attrs.get("beta", 0.5), 0, 1).astype(x.dtype)]


@op("HardSwish")
def hard_swish(inputs, attrs):
    x = inputs[0]
    return [(x * np.clip(x / 6 + 0.5, 0, 1)).astype(x.dtype)]


@op("Softplus")
def softplus(inputs, attrs):
    return [npx.activation(inputs[0], act_type="softrelu")]


@op("Softsign")
def softsign(inputs, attrs):
    return [npx.activation(inputs[0], act_type="softsign")]


@op("PRelu")
def prelu(inputs, attrs):
    x, slope = inputs
    return [np.where(x < 0, x * slope, x).astype(x.dtype)]


@op("Gelu")
def gelu(inputs, attrs):
    x = inputs[0]
    if attrs.get("approximate", "none") == "tanh":
        return [(0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(x.dtype)]
    return [(0.5 * x * (1 + npx.erf(x / math.sqrt(2)))).astype(x.dtype)]


@op("Mish")
def mish(inputs, attrs):
    x = inputs[0]
    return [x * np.tanh(npx.activation(x, act_type="softrelu"))]


def _softmax_like(fn):
    def run(inputs, attrs):
        x = inputs[0]
        axis = attrs.get("axis", -1 if attrs["_opset"] >= 13 else 1)
        if attrs["_opset"] < 13:  # older opsets: coerce to 2-D at axis
            shape = x.shape
            axis = axis % x.ndim if x.ndim else 0
            lead = int(onp.prod(shape[:axis])) if axis else 1
            flat = x.reshape(lead, -1)
            return [fn(flat, axis=-1).reshape(shape)]
        return [fn(x, axis=axis)]
    return run


OPS["Softmax"] = (_softmax_like(npx.softmax), 1)
OPS["LogSoftmax"] = (_softmax_like(npx.log_softmax), 1)


@op("Hardmax")
def hardmax(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", -1 if attrs["_opset"] >= 13 else 1)
    if attrs["_opset"] < 13:
        shape = x.shape
        axis = axis % x.ndim
        flat = x.reshape(int(onp.prod(shape[:axis])) if axis else 1, -1)
        idx = np.argmax(flat, axis=-1)
        return [npx.one_hot(idx, flat.shape[-1], dtype=x.dtype).reshape(shape)]
    axis = axis % x.ndim
    idx = np.argmax(x, axis=axis)
    oh = npx.one_hot(idx, x.shape[axis], dtype=x.dtype)
    return [np.moveaxis(oh, -1, axis)]


# -- linear algebra --------------------------------------------------------------------
@op("MatMul")
def matmul(inputs, attrs):
    return [np.matmul(inputs[0], inputs[1])]


@op("Gemm")
def gemm(inputs, attrs):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    y = np.matmul(a, b) * attrs.get("alpha", 1.0)
    if c is not None:
        y = y + c * attrs.get("beta", 1.0)
    return [y.astype(inputs[0].dtype)]


@op("Einsum")
def einsum(inputs, attrs):
    return [np.einsum(attrs["equation"].replace(" ", ""), *inputs)]


# -- shapes ----------------------------------------------------------------------------------
@op("Shape")
def shape(inputs, attrs):
    dims = list(inputs[0].shape)
    start, end = attrs.get("start", 0), attrs.get("end")
    dims = dims[start:end] if end is not None else dims[start:]
    return [np.array(dims, dtype="int64")]


@op("Size")
def size(inputs, attrs):
    return [np.array(int(onp.prod(inputs[0].shape)), dtype="int64")]


@op("Reshape")
def reshape(inputs, attrs):
    x = inputs[0]
    target = _ints(inputs[1]) if len(inputs) > 1 else list(attrs["shape"])
    if not attrs.get("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return [x.reshape(tuple(target))]


@op("Flatten")
def flatten(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 1) % (x.ndim or 1) if attrs.get("axis", 1) < 0 else attrs.get("axis", 1)
    lead = int(onp.prod(x.shape[:axis])) if axis else 1
    return [x.reshape(lead, int(onp.prod(x.shape[axis:])))]


@op("Transpose")
def transpose(inputs, attrs):
    perm = attrs.get("perm")
    return [np.transpose(inputs[0], axes=tuple(perm) if perm else None)]


@op("Squeeze")
def squeeze(inputs, attrs):
    x = inputs[0]
    axes = _axes(attrs.get("axes"), inputs[1] if len(inputs) > 1 else None, x.ndim)
    return [np.squeeze(x, axis=axes) if axes else np.squeeze(x)]


@op("Unsqueeze")
def unsqueeze(inputs, attrs):
    x = inputs[0]
    axes = attrs.get("axes") if attrs.get("axes") is not None else _ints(inputs[1])
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


@op("Concat")
def concat(inputs, attrs):
    return [np.concatenate([x for x in inputs if x is not None], axis=attrs["axis"])]


@op("Split")
def split(inputs, attrs):
    x, axis = inputs[0], attrs.get("axis", 0)
    sizes = attrs.get("split") or (_ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None)
    n = attrs["_outputs"]
    dim = x.shape[axis]
    if sizes is None:
        chunk = -(-dim // n)
        sizes = [min(chunk, dim - i * chunk) for i in range(n)]
    bounds = list(onp.cumsum(sizes)[:-1])
    return list(np.split(x, [int(b) for b in bounds], axis=axis)) if bounds else [x]


@op("Slice")
def slice_(inputs, attrs):
    x = inputs[0]
    if attrs["_opset"] < 10:
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    else:
        starts, ends = _ints(inputs[1]), _ints(inputs[2])
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        dim = x.shape[a]
        index[a % x.ndim] = slice(*slice(s, e, st).indices(dim))
    return [x[tuple(index)]]


@op("Expand")
def expand(inputs, attrs):
    x, target = inputs[0], _ints(inputs[1])
    shape = onp.broadcast_shapes(tuple(x.shape), tuple(target)) if hasattr(onp, "broadcast_shapes") else \
        onp.broadcast(onp.empty(x.shape), onp.empty(target)).shape
    return [np.broadcast_to(x, shape)]


@op("Tile")
def tile(inputs, attrs):
    return [np.tile(inputs[0], tuple(_ints(inputs[1])))]


@op("ConstantOfShape")
def constant_of_shape(inputs, attrs):
    value = attrs.get("value")
    dims = tuple(_ints(inputs[0]))
    if value is None:
        return [np.zeros(dims, dtype="float32")]
    return [np.full(dims, value.reshape(-1)[0].item(), dtype=value.dtype)]


@op("Constant")
def constant(inputs, attrs):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            v = attrs[key]
            if key == "value":
                return [v]
            dtype = "float32" if "float" in key else "int64"
            return [np.array(v, dtype=dtype)]
    raise NotImplementedError("Constant with sparse or string values")


@op("Range")
def range_(inputs, attrs):
    start, limit, delta = (x.item() for x in inputs)
    n = max(int(math.ceil((limit - start) / delta)), 0)
    return [(np.arange(n, dtype="float64") * delta + start).astype(inputs[0].dtype)]


@op("Dropout")
def dropout(inputs, attrs):
    x = inputs[0]
    outs = [x]
    if attrs["_outputs"] > 1:
        outs.append(np.ones(x.shape, dtype="bool"))
    return outs


@op("Gather")
def gather(inputs, attrs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take(x, idx, axis=axis)]


@op("GatherElements")
def gather_elements(inputs, attrs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take_along_axis(x, idx, axis=axis)]


@op("Trilu")
def trilu(inputs, attrs):
    x = inputs[0]
    k = int(inputs[1].item()) if len(inputs) > 1 and inputs[1] is not None else 0
    rows, cols = x.shape[-2], x.shape[-1]
    i = np.arange(rows, dtype="int64").reshape(rows, 1)
    j = np.arange(cols, dtype="int64").reshape(1, cols)
    keep = (j - i >= k) if attrs.get("upper", 1) else (j - i <= k)
    return [np.where(keep, x, np.zeros_like(x))]


@op("Pad")
def pad(inputs, attrs):
    x = inputs[0]
    mode = attrs.get("mode", "constant")
    if attrs["_opset"] < 11:
        pads, value, axes = attrs["pads"], attrs.get("value", 0.0), None
    else:
        pads = _ints(inputs[1])
        value = inputs[2].item() if len(inputs) > 2 and inputs[2] is not None else 0
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    axes = [a % x.ndim for a in axes] if axes is not None else list(range(x.ndim))
    n = len(axes)
    width = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        width[a] = (pads[i], pads[i + n])
    if mode == "constant":
        return [np.pad(x, width, mode="constant", constant_values=value)]
    if mode == "reflect":
        return [np.pad(x, width, mode="reflect")]
    if mode == "edge":
        return [np.pad(x, width, mode="edge")]
    raise NotImplementedError("Pad mode %s" % mode)


# -- reductions ---------------------------------------------------------------------------------
def _reduce(fn, post=None, pre=None):
    def run(inputs, attrs):
        x = inputs[0]
        axes = attrs.get("axes")
        if axes is None and len(inputs) > 1 and inputs[1] is not None:
            axes = _ints(inputs[1])
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0) and axes is not None or \
                    (attrs.get("noop_with_empty_axes", 0) and axes is None):
                return [x]
            axes = None
        axes = tuple(a % x.ndim for a in axes) if axes else None
        y = x if pre is None else pre(x)
        out = fn(y, axis=axes, keepdims=keep)
        return [(out if post is None else post(out)).astype(x.dtype)]
    return run


OPS["ReduceSum"] = (_reduce(np.sum), 1)
OPS["ReduceMean"] = (_reduce(np.mean), 1)
OPS["ReduceMax"] = (_reduce(np.max), 1)
OPS["ReduceMin"] = (_reduce(np.min), 1)
OPS["ReduceProd"] = (_reduce(np.prod), 1)
OPS["ReduceSumSquare"] = (_reduce(np.sum, pre=lambda x: x * x), 1)
OPS["ReduceL1"] = (_reduce(np.sum, pre=np.abs), 1)
OPS["ReduceL2"] = (_reduce(np.sum, pre=lambda x: x * x, post=np.sqrt), 1)
OPS["ReduceLogSum"] = (_reduce(np.sum, post=np.log), 1)
OPS["ReduceLogSumExp"] = (_reduce(np.sum, pre=np.exp, post=np.log), 1)


def _arg(fn):
    def run(inputs, attrs):
        x = inputs[0]
        axis = attrs.get("axis", 0) % x.ndim
        if attrs.get("select_last_index", 0):
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - fn(flipped, axis=axis).astype("int64")
        else:
            idx = fn(x, axis=axis).astype("int64")
        if attrs.get("keepdims", 1):
            idx = np.expand_dims(idx, axis)
        return [idx]
    return run


OPS["ArgMax"] = (_arg(np.argmax), 1)
OPS["ArgMin"] = (_arg(np.argmin), 1)


@op("CumSum")
def cumsum(inputs, attrs):
    x = inputs[0]
    axis = int(inputs[1].item()) % x.ndim
    if attrs.get("reverse", 0):
        x = np.flip(x, axis=axis)
    out = np.cumsum(x, axis=axis).astype(x.dtype)
    if attrs.get("exclusive", 0):
        out = out - x
    if attrs.get("reverse", 0):
        out = np.flip(out, axis=axis)
    return [out]


# -- neural-network layers ------------------------------------------------------------------------
def _conv_pads(x, attrs, kernel, strides, dilations, transpose=False):
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    pads = list(attrs.get("pads") or [0] * (2 * n))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * n)
        for i in range(n):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + n] = lo, total - lo
    elif auto == "VALID":
        pads = [0] * (2 * n)
    return pads[:n], pads[n:]


def _pad_asym(x, begin, end, value=0.0):
    if begin == end:
        return x, begin
    width = [(0, 0), (0, 0)] + list(zip(begin, end))
    return np.pad(x, width, mode="constant", constant_values=value), [0] * len(begin)


@op("Conv")
def conv(inputs, attrs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = attrs.get("kernel_shape") or list(w.shape[2:])
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    begin, end = _conv_pads(x, attrs, kernel, strides, dil)
    x, pad = _pad_asym(x, begin, end)
    group = attrs.get("group", 1)
    y = npx.convolution(x, w, b, kernel=tuple(kernel), stride=tuple(strides), dilate=tuple(dil), pad=tuple(pad),
                        num_filter=w.shape[0], num_group=group, no_bias=b is None)
    return [y]


@op("ConvTranspose")
def conv_transpose(inputs, attrs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    kernel = attrs.get("kernel_shape") or list(w.shape[2:])
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    group = attrs.get("group", 1)
    out_pad = attrs.get("output_padding") or [0] * n
    pads = attrs.get("pads")
    out_shape = attrs.get("output_shape")
    if out_shape or attrs.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        spatial = list(x.shape[2:])
        target = list(out_shape)[-n:] if out_shape else [s * st for s, st in zip(spatial, strides)]
        pads = [0] * (2 * n)
        for i in range(n):
            total = strides[i] * (spatial[i] - 1) + out_pad[i] + ((kernel[i] - 1) * dil[i] + 1) - target[i]
            if attrs.get("auto_pad", "NOTSET") == "SAME_UPPER" or not out_shape:
                pads[i], pads[i + n] = total // 2, total - total // 2
            else:
                pads[i], pads[i + n] = total - total // 2, total // 2
    pads = pads or [0] * (2 * n)
    # MXNet computes the full transposed convolution; ONNX's output_padding appends
    # positions that only the bias reaches, and pads crop both ends.
    full = npx.deconvolution(x, w, None, kernel=tuple(kernel), stride=tuple(strides), dilate=tuple(dil),
                             pad=(0,) * n, adj=(0,) * n, num_filter=w.shape[1] * group, num_group=group,
                             no_bias=True)
    if any(out_pad):
        full = np.pad(full, [(0, 0), (0, 0)] + [(0, p) for p in out_pad], mode="constant")
    if b is not None:
        full = full + b.reshape((1, -1) + (1,) * n)
    index = [slice(None), slice(None)] + [slice(pads[i], full.shape[2 + i] - pads[i + n]) for i in range(n)]
    return [full[tuple(index)]]


def _pool(inputs, attrs, pool_type):
    x = inputs[0]
    kernel = attrs["kernel_shape"]
    n = len(kernel)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    if any(d != 1 for d in dil):
        raise NotImplementedError("pooling with dilations")
    begin, end = _conv_pads(x, attrs, kernel, strides, dil)
    ceil = attrs.get("ceil_mode", 0)
    if pool_type == "max" and begin != end:
        x, begin = _pad_asym(x, begin, end, value=-onp.inf)
        end = begin
    include = attrs.get("count_include_pad", 0)
    if pool_type == "avg" and begin != end:
        if not include:
            raise NotImplementedError("asymmetric padding without count_include_pad")
        x, begin = _pad_asym(x, begin, end)
    y = npx.pooling(x, kernel=tuple(kernel), stride=tuple(strides), pad=tuple(begin), pool_type=pool_type,
                    pooling_convention="full" if ceil else "valid", count_include_pad=bool(include),
                    p_value=attrs.get("p", 2))
    return y


@op("MaxPool")
def max_pool(inputs, attrs):
    if attrs["_outputs"] > 1:
        raise NotImplementedError("MaxPool indices output")
    if attrs.get("storage_order", 0):
        raise NotImplementedError("storage_order")
    return [_pool(inputs, attrs, "max")]


@op("AveragePool")
def average_pool(inputs, attrs):
    return [_pool(inputs, attrs, "avg")]


@op("LpPool")
def lp_pool(inputs, attrs):
    return [_pool(inputs, attrs, "lp")]


@op("GlobalAveragePool", "GlobalMaxPool")
def global_pool(inputs, attrs):
    x = inputs[0]
    axes = tuple(range(2, x.ndim))
    return [(np.mean if attrs["_op"] == "GlobalAveragePool" else np.max)(x, axis=axes, keepdims=True)]


@op("BatchNormalization")
def batch_norm(inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0) or attrs["_outputs"] > 1:
        raise NotImplementedError("training-mode BatchNormalization")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = attrs.get("epsilon", 1e-5)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


@op("InstanceNormalization")
def instance_norm(inputs, attrs):
    x, scale, bias = inputs
    axes = tuple(range(2, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean) / np.sqrt(var + attrs.get("epsilon", 1e-5)) * scale.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


@op("LayerNormalization")
def layer_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attrs.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + attrs.get("epsilon", 1e-5))
    y = (x - mean) * inv * scale
    if bias is not None:
        y = y + bias
    outs = [y.astype(x.dtype)]
    if attrs["_outputs"] > 1:
        outs.append(mean)
    if attrs["_outputs"] > 2:
        outs.append(inv)
    return outs


@op("LRN")
def lrn(inputs, attrs):
    x = inputs[0]
    size, alpha, beta, bias = attrs["size"], attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    sq = x * x
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = np.pad(sq, [(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2), mode="constant")
    total = np.zeros(x.shape, dtype=x.dtype)
    for i in range(size):
        total = total + padded[:, i:i + x.shape[1]]
    return [(x / (bias + alpha / size * total) ** beta).astype(x.dtype)]


@op("DepthToSpace")
def depth_to_space(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        y = np.transpose(x.reshape(n, b, b, c // (b * b), h, w), axes=(0, 3, 4, 1, 5, 2))
    else:
        y = np.transpose(x.reshape(n, c // (b * b), b, b, h, w), axes=(0, 1, 4, 2, 5, 3))
    return [y.reshape(n, c // (b * b), h * b, w * b)]


@op("SpaceToDepth")
def space_to_depth(inputs, attrs):
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    y = np.transpose(x.reshape(n, c, h // b, b, w // b, b), axes=(0, 3, 5, 1, 2, 4))
    return [y.reshape(n, c * b * b, h // b, w // b)]


@op("TopK")
def topk(inputs, attrs):
    x, k = inputs[0], int(inputs[1].item())
    axis = attrs.get("axis", -1) % x.ndim
    largest = attrs.get("largest", 1)
    values, idx = npx.topk(x, axis=axis, k=k, ret_typ="both", is_ascend=not largest, dtype="int64")
    return [values, idx]


@op("OneHot")
def one_hot(inputs, attrs):
    idx, depth, values = inputs
    d = int(depth.item())
    axis = attrs.get("axis", -1)
    idx = np.where(idx < 0, idx + d, idx)
    oh = npx.one_hot(idx.astype("int64"), d, on_value=1.0, off_value=0.0, dtype="float64")
    out = oh * (values[1] - values[0]).astype("float64") + values[0].astype("float64")
    if axis != -1:
        out = np.moveaxis(out, -1, axis % out.ndim)
    return [out.astype(values.dtype)]
