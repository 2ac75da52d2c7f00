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
_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Equal": np.equal,
           "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
           "GreaterOrEqual": np.greater_equal, "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or,
           "BitwiseXor": np.bitwise_xor}


def _binary(fn):
    return lambda inputs, attrs: [fn(inputs[0], inputs[1])]


for _name, _fn in _BINARY.items():
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
    if attrs.get("fmod", 0):  # C fmod: the remainder takes the dividend's sign
        quotient = np.trunc(np.true_divide(a.astype("float64"), b.astype("float64")))
        return [(a.astype("float64") - quotient * b.astype("float64")).astype(a.dtype)]
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
          "Atanh": np.arctanh, "Tanh": np.tanh, "Sign": np.sign, "Reciprocal": np.reciprocal, "Round": np.round,
          "Not": np.logical_not, "IsNaN": np.isnan, "BitwiseNot": np.bitwise_not, "Identity": lambda x: x,
          "Sigmoid": npx.sigmoid, "Relu": npx.relu, "Erf": lambda x: npx.erf(x)}


def _unary(fn):
    return lambda inputs, attrs: [fn(inputs[0])]


for _name, _fn in _UNARY.items():
    OPS[_name] = (_unary(_fn), 1)


# MXNet 1.9's numpy namespace has no logical_and/or/xor and its bitwise ops refuse booleans:
# compute on 0/1 integers with MXNet's arithmetic instead.
OPS["And"] = (lambda i, a: [(i[0].astype("int8") * i[1].astype("int8")).astype("bool")], 1)
OPS["Or"] = (lambda i, a: [(i[0].astype("int8") + i[1].astype("int8")) > 0], 1)
OPS["Xor"] = (lambda i, a: [np.not_equal(i[0], i[1])], 1)


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


def _coerced_2d(x, axis):
    """Before opset 13, softmax-like ops work on the input flattened to 2-D at ``axis``."""
    axis = axis % x.ndim if x.ndim else 0
    return x.reshape(int(onp.prod(x.shape[:axis])) if axis else 1, -1)


def _softmax_like(fn):
    def run(inputs, attrs):
        x = inputs[0]
        axis = attrs.get("axis", -1 if attrs["_opset"] >= 13 else 1)
        if attrs["_opset"] < 13:
            return [fn(_coerced_2d(x, axis), axis=-1).reshape(x.shape)]
        return [fn(x, axis=axis)]
    return run


OPS["Softmax"] = (_softmax_like(npx.softmax), 1)
OPS["LogSoftmax"] = (_softmax_like(npx.log_softmax), 1)


@op("Hardmax")
def hardmax(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", -1 if attrs["_opset"] >= 13 else 1)
    if attrs["_opset"] < 13:
        flat = _coerced_2d(x, axis)
        idx = np.argmax(flat, axis=-1)
        return [npx.one_hot(idx, flat.shape[-1], dtype=x.dtype).reshape(x.shape)]
    axis = axis % x.ndim
    idx = np.argmax(x, axis=axis)
    oh = npx.one_hot(idx, x.shape[axis], dtype=x.dtype)
    return [np.moveaxis(oh, -1, axis)]


# -- linear algebra --------------------------------------------------------------------
def _mm(a, b):
    """MXNet's CPU matmul takes float32/64 only: half precision is computed in float32."""
    if a.dtype == onp.float16:
        return np.matmul(a.astype("float32"), b.astype("float32")).astype("float16")
    return np.matmul(a, b)


@op("MatMul")
def matmul(inputs, attrs):
    return [_mm(inputs[0], inputs[1])]


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
    width = tuple(width)  # MXNet's np.pad insists on tuples
    if mode == "constant":
        return [_pad_constant(x, width, value)]
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


def _pad_constant(x, width, value):
    """np.pad with a constant: MXNet 1.9 ignores ``constant_values`` (pads 0), so fill the border."""
    padded = np.pad(x, width, mode="constant")
    if value == 0:
        return padded
    inside = np.pad(np.ones(x.shape, dtype="bool"), width, mode="constant")
    return np.where(inside, padded, np.full(padded.shape, value, dtype=padded.dtype))


def _pad_asym(x, begin, end, value=0.0):
    if begin == end and value == 0.0:
        return x, begin
    width = tuple([(0, 0), (0, 0)] + list(zip(begin, end)))
    return _pad_constant(x, width, value), [0] * len(begin)


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
        full = np.pad(full, tuple([(0, 0), (0, 0)] + [(0, p) for p in out_pad]), mode="constant")
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
    begin, end = _conv_pads(x, attrs, kernel, strides, dil)
    ceil = attrs.get("ceil_mode", 0)
    include = attrs.get("count_include_pad", 0)
    if any(d != 1 for d in dil):
        if pool_type != "max":
            raise NotImplementedError("average or Lp pooling with dilations")
        return _dilated_max(x, kernel, strides, dil, begin, end, ceil)
    if pool_type == "avg" and begin != end and not include:
        # Average over the valid elements only: sum pooling of the zero-padded input divided
        # by sum pooling of a ones mask, both computed by MXNet's pooling kernel.
        ones = np.ones(x.shape, dtype=x.dtype)
        xp, pad = _pad_asym(x, begin, end)
        mp, _ = _pad_asym(ones, begin, end)
        kw = dict(kernel=tuple(kernel), stride=tuple(strides), pad=tuple(pad), pool_type="sum",
                  pooling_convention="full" if ceil else "valid")
        return npx.pooling(xp, **kw) / npx.pooling(mp, **kw)
    if pool_type == "lp":  # (sum |x|^p)^(1/p): MXNet's own Lp pooling supports only some p
        p = attrs.get("p", 2)
        xp, pad = _pad_asym(np.abs(x) ** p, begin, end)
        s = npx.pooling(xp, kernel=tuple(kernel), stride=tuple(strides), pad=tuple(pad), pool_type="sum",
                        pooling_convention="full" if ceil else "valid")
        return _trim_ceil(s ** (1.0 / p), x, kernel, strides, begin, end, ceil)
    if begin != end or pool_type == "max":
        x0 = x
        x, begin = _pad_asym(x, begin, end, value=-onp.inf if pool_type == "max" else 0.0)
        y = npx.pooling(x, kernel=tuple(kernel), stride=tuple(strides), pad=(0,) * n, pool_type=pool_type,
                        pooling_convention="full" if ceil else "valid", count_include_pad=True)
        return _trim_ceil(y, x0, kernel, strides, [b for b in begin], end, ceil)
    y = npx.pooling(x, kernel=tuple(kernel), stride=tuple(strides), pad=tuple(begin), pool_type=pool_type,
                    pooling_convention="full" if ceil else "valid", count_include_pad=bool(include))
    return _trim_ceil(y, x, kernel, strides, begin, end, ceil)


def _trim_ceil(y, x, kernel, strides, begin, end, ceil):
    """ONNX drops a ceil-mode window that would start in the end padding; MXNet's 'full' keeps it."""
    if not ceil:
        return y
    index = [slice(None), slice(None)]
    for i in range(len(kernel)):
        size = x.shape[2 + i]
        out = y.shape[2 + i]
        if (out - 1) * strides[i] >= size + (begin[i] if begin else 0):
            out -= 1
        index.append(slice(0, out))
    return y[tuple(index)]


def _dilated_max(x, kernel, strides, dil, begin, end, ceil):
    """Max pooling with dilations as the maximum of strided slices (MXNet's kernel has no dilation)."""
    import itertools

    n = len(kernel)
    width = tuple([(0, 0), (0, 0)] + [(b, e) for b, e in zip(begin, end)])
    xp = _pad_constant(x, width, -onp.inf) if any(begin) or any(end) else x
    out = []
    for i in range(n):
        span = (kernel[i] - 1) * dil[i] + 1
        size = xp.shape[2 + i] - span
        out.append((-(-size // strides[i]) if ceil else size // strides[i]) + 1)
    if ceil:  # windows may run past the end: pad with -inf so every slice exists
        extra = [max(0, (out[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - xp.shape[2 + i]) for i in range(n)]
        if any(extra):
            xp = _pad_constant(xp, tuple([(0, 0), (0, 0)] + [(0, e) for e in extra]), -onp.inf)
    result = None
    for offsets in itertools.product(*[range(k) for k in kernel]):
        index = [slice(None), slice(None)]
        for i, k in enumerate(offsets):
            start = k * dil[i]
            index.append(slice(start, start + (out[i] - 1) * strides[i] + 1, strides[i]))
        part = xp[tuple(index)]
        result = part if result is None else np.maximum(result, part)
    return result


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


def _moments(x, axes):
    """Mean and (biased) variance over ``axes``, kept for broadcasting: every normalization needs them."""
    mean = np.mean(x, axis=axes, keepdims=True)
    return mean, np.mean((x - mean) ** 2, axis=axes, keepdims=True)


@op("InstanceNormalization")
def instance_norm(inputs, attrs):
    x, scale, bias = inputs
    mean, var = _moments(x, tuple(range(2, x.ndim)))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean) / np.sqrt(var + attrs.get("epsilon", 1e-5)) * scale.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


@op("LayerNormalization")
def layer_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attrs.get("axis", -1) % x.ndim
    mean, var = _moments(x, tuple(range(axis, x.ndim)))
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
    padded = np.pad(sq, tuple([(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2)), mode="constant")
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


# -- losses, normalizations and the rest ---------------------------------------------------------
def _nll(logp, target, weight, reduction, ignore_index):
    """ONNX NegativeLogLikelihoodLoss on log-probabilities (N, C, d1...) and targets (N, d1...)."""
    target = target.astype("int64")
    if ignore_index is not None:
        keep = np.not_equal(target, ignore_index)
        safe = np.where(keep, target, np.zeros_like(target))
    else:
        keep, safe = None, target
    picked = np.squeeze(np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1), axis=1)
    w = np.take(weight, safe) if weight is not None else np.ones(picked.shape, dtype=logp.dtype)
    if keep is not None:
        w = w * keep.astype(logp.dtype)
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.sum(loss) / np.sum(w)


@op("NegativeLogLikelihoodLoss")
def nll_loss(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    return [_nll(x, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).astype(x.dtype)]


@op("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    logp = npx.log_softmax(x, axis=1)
    loss = _nll(logp, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).astype(x.dtype)
    return [loss, logp] if attrs["_outputs"] > 1 else [loss]


@op("RMSNormalization")
def rms_norm(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    axis = attrs.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    xf = x.astype("float32") if x.dtype == onp.float16 else x
    rms = np.sqrt(np.mean(xf * xf, axis=axes, keepdims=True) + attrs.get("epsilon", 1e-5))
    return [((xf / rms).astype(x.dtype) * scale).astype(x.dtype)]


@op("GroupNormalization")
def group_norm(inputs, attrs):
    x, scale, bias = inputs
    g = attrs["num_groups"]
    n, c = x.shape[0], x.shape[1]
    grouped = x.reshape(n, g, -1)
    mean, var = _moments(grouped, 2)
    y = ((grouped - mean) / np.sqrt(var + attrs.get("epsilon", 1e-5))).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return [(y * scale.reshape(shape) + bias.reshape(shape)).astype(x.dtype)]


@op("MeanVarianceNormalization")
def mvn(inputs, attrs):
    x = inputs[0]
    mean, var = _moments(x, tuple(attrs.get("axes") or (0, 2, 3)))
    return [((x - mean) / (np.sqrt(var) + 1e-9)).astype(x.dtype)]


@op("LpNormalization")
def lp_normalization(inputs, attrs):
    x = inputs[0]
    axis, p = attrs.get("axis", -1), attrs.get("p", 2)
    norm = np.sum(np.abs(x), axis=axis, keepdims=True) if p == 1 else \
        np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return [np.where(norm == 0, np.zeros_like(x), x / np.where(norm == 0, np.ones_like(norm), norm))]


@op("Swish")
def swish(inputs, attrs):
    x = inputs[0]
    return [(x * npx.sigmoid(attrs.get("alpha", 1.0) * x)).astype(x.dtype)]


@op("Shrink")
def shrink(inputs, attrs):
    x = inputs[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    y = np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, np.zeros_like(x)))
    return [y.astype(x.dtype)]


@op("EyeLike")
def eye_like(inputs, attrs):
    x = inputs[0]
    rows, cols = x.shape
    k = attrs.get("k", 0)
    i = np.arange(rows, dtype="int64").reshape(rows, 1)
    j = np.arange(cols, dtype="int64").reshape(1, cols)
    dtype = attrs.get("dtype_name") or str(x.dtype)
    return [np.equal(j - i, k).astype(dtype)]


@op("GatherND")
def gather_nd(inputs, attrs):
    x, idx = inputs
    if attrs.get("batch_dims", 0):
        raise NotImplementedError("GatherND with batch_dims")
    idx = np.where(idx < 0, idx + np.array(x.shape[:idx.shape[-1]], dtype="int64"), idx)
    moved = np.moveaxis(idx, -1, 0)  # MXNet's gather_nd wants the index tuple first
    return [npx.gather_nd(x, moved)]


@op("Compress")
def compress(inputs, attrs):
    x, cond = inputs
    axis = attrs.get("axis")
    if axis is None:
        x, axis = x.reshape(-1), 0
    keep = np.nonzero(cond)[0]
    keep = keep[keep < x.shape[axis]]
    return [np.take(x, keep, axis=axis)]


@op("NonZero")
def nonzero(inputs, attrs):
    x = inputs[0]
    idx = np.nonzero(x.reshape(1, -1) if x.ndim == 0 else x)
    return [np.stack([i.astype("int64") for i in idx], axis=0)]


@op("CumProd")
def cumprod(inputs, attrs):
    """Running product as exp(cumsum(log|x|)) with the sign tracked: MXNet has no cumprod kernel."""
    x = inputs[0]
    axis = int(inputs[1].item()) % x.ndim
    if attrs.get("reverse", 0):
        x = np.flip(x, axis=axis)
    if attrs.get("exclusive", 0):  # shift by one along the axis, a 1 entering first
        first = np.ones_like(np.take(x, np.array([0], dtype="int64"), axis=axis))
        rest = np.take(x, np.arange(x.shape[axis] - 1, dtype="int64"), axis=axis)
        x = np.concatenate([first, rest], axis=axis)
    out = x
    parts = np.split(x, x.shape[axis], axis=axis)
    acc, outs = None, []
    for part in parts:
        acc = part if acc is None else acc * part
        outs.append(acc)
    out = np.concatenate(outs, axis=axis) if outs else x
    if attrs.get("reverse", 0):
        out = np.flip(out, axis=axis)
    return [out.astype(inputs[0].dtype)]


def _window(kind):
    def run(inputs, attrs):
        n = int(inputs[0].item())
        periodic = attrs.get("periodic", 1)
        denom = n if periodic else n - 1
        k = np.arange(n, dtype="float64")
        if kind == "hann":
            w = 0.5 - 0.5 * np.cos(2 * math.pi * k / denom)
        elif kind == "hamming":
            w = 25.0 / 46 - (1 - 25.0 / 46) * np.cos(2 * math.pi * k / denom)
        else:
            w = 0.42 - 0.5 * np.cos(2 * math.pi * k / denom) + 0.08 * np.cos(4 * math.pi * k / denom)
        return [w.astype(attrs.get("dtype_name") or "float32")]
    return run


OPS["HannWindow"] = (_window("hann"), 17)
OPS["HammingWindow"] = (_window("hamming"), 17)
OPS["BlackmanWindow"] = (_window("blackman"), 17)


@op("Det")
def det(inputs, attrs):
    return [np.linalg.det(inputs[0])]


@op("ReverseSequence")
def reverse_sequence(inputs, attrs):
    x, lens = inputs
    batch_axis, time_axis = attrs.get("batch_axis", 1), attrs.get("time_axis", 0)
    steps = x.shape[time_axis]
    t = np.arange(steps, dtype="int64")
    outs = []
    for b in range(x.shape[batch_axis]):
        n = int(lens[b].item())
        order = np.where(t < n, n - 1 - t, t)
        row = np.take(x, np.array([b], dtype="int64"), axis=batch_axis)
        outs.append(np.take(row, order, axis=time_axis))
    return [np.concatenate(outs, axis=batch_axis)]


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


OPS["LSTM"] = (_recurrent("LSTM"), 1)
OPS["GRU"] = (_recurrent("GRU"), 1)
OPS["RNN"] = (_recurrent("RNN"), 1)


# -- Resize ------------------------------------------------------------------------------------------
def _source_coords(mode, out_size, in_size, scale):
    """Where each output position samples the input (host arithmetic on sizes only)."""
    x = onp.arange(out_size, dtype=onp.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else onp.zeros_like(x)
    if mode == "align_corners":
        return x * (in_size - 1) / (out_size - 1) if out_size > 1 else onp.zeros_like(x)
    if mode == "asymmetric":
        return x / scale
    if mode == "half_pixel_symmetric":
        adjustment = out_size / (scale * in_size)
        center = in_size / 2
        offset = center * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    raise NotImplementedError("Resize coordinate_transformation_mode %s" % mode)


def _nearest(coords, how, in_size):
    if how == "round_prefer_floor":
        idx = onp.where(coords == onp.floor(coords) + 0.5, onp.floor(coords), onp.round(coords))
    elif how == "round_prefer_ceil":
        idx = onp.floor(coords + 0.5)
    elif how == "floor":
        idx = onp.floor(coords)
    elif how == "ceil":
        idx = onp.ceil(coords)
    else:
        raise NotImplementedError("nearest_mode %s" % how)
    return onp.clip(idx, 0, in_size - 1).astype(onp.int64)


@op("Resize", "Upsample")
def resize(inputs, attrs):
    x = inputs[0]
    if attrs["_op"] == "Upsample" or attrs["_opset"] < 11:
        scales = [float(v) for v in (attrs.get("scales") or inputs[1].asnumpy().reshape(-1))]
        sizes, axes = None, list(range(x.ndim))
        mode, coord = attrs.get("mode", "nearest"), "asymmetric"
        nearest = "floor" if attrs["_op"] == "Upsample" or attrs["_opset"] < 11 else "round_prefer_floor"
    else:
        scales = inputs[2].asnumpy().reshape(-1).tolist() if len(inputs) > 2 and inputs[2] is not None \
            and inputs[2].size else None
        sizes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        axes = [a % x.ndim for a in attrs["axes"]] if attrs.get("axes") else list(range(x.ndim))
        mode = attrs.get("mode", "nearest")
        coord = attrs.get("coordinate_transformation_mode", "half_pixel")
        nearest = attrs.get("nearest_mode", "round_prefer_floor")
    if attrs.get("antialias", 0) or mode == "cubic" or coord == "tf_crop_and_resize":
        raise NotImplementedError("Resize with antialias, cubic or tf_crop_and_resize")
    if sizes is not None:
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        ratios = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
        if policy != "stretch":
            r = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [r] * len(axes)
            sizes = [int(onp.round(r * x.shape[a])) for a in axes]
        scales = ratios
    out = x
    for i, a in enumerate(axes):
        in_size, scale = x.shape[a], float(scales[i])
        out_size = sizes[i] if sizes is not None else int(onp.floor(in_size * scale))
        if out_size == in_size and scale == 1.0:
            continue
        coords = _source_coords(coord, out_size, in_size, scale)
        if mode == "nearest":
            out = np.take(out, np.array(_nearest(coords, nearest, in_size)), axis=a)
        elif mode == "linear":
            c = onp.clip(coords, 0, in_size - 1)
            lo = onp.floor(c).astype(onp.int64)
            hi = onp.minimum(lo + 1, in_size - 1)
            shape = [1] * x.ndim
            shape[a] = out_size
            w = np.array((c - lo).reshape(shape), dtype=str(x.dtype))
            a_lo, a_hi = np.take(out, np.array(lo), axis=a), np.take(out, np.array(hi), axis=a)
            out = a_lo + (a_hi - a_lo) * w
        else:
            raise NotImplementedError("Resize mode %s" % mode)
    return [out.astype(x.dtype)]


# -- Attention ----------------------------------------------------------------------------------------
@op("Attention")
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
            mask = _pad_constant(mask, width, -onp.inf)
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
