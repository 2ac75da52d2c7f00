"""The importer's operator table: one converter per ONNX op, writing MXNet legacy operators.

``fn(g, node)`` returns the MXNet output reference (or a list, one per output). ``g``
(``importer.Graph``) holds the symbol being written, the constants and the inferred
shapes.
"""

from __future__ import annotations

import numpy as np
from onnx import helper

CONVERTERS: dict[str, callable] = {}


def converter(*ops):
    def register(fn):
        for op in ops:
            CONVERTERS[op] = fn
        return fn

    return register


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _scalar(g, tensor) -> float:
    value = g.consts.get(tensor)
    if value is None or value.size != 1:
        raise g.unsupported(f"{tensor!r} is not a constant scalar")
    return float(value.reshape(-1)[0])


def _pads(g, a, n):
    """Symmetric MXNet pads, inserting a Pad op for asymmetric or SAME padding."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto not in ("NOTSET", "VALID"):
        raise g.unsupported(f"auto_pad={auto}")
    pads = list(a.get("pads") or [0] * (2 * n))
    if auto == "VALID":
        pads = [0] * (2 * n)
    return pads[:n], pads[n:]


def _pad_input(g, x, begin, end, value=0.0):
    rank = len(begin) + 2
    if rank not in (4, 5):
        raise g.unsupported("asymmetric padding outside 2-D/3-D")
    width = [0, 0, 0, 0] + [v for pair in zip(begin, end) for v in pair]
    return g.op("Pad", [x], name=g.onnx_node.output[0] + "_pad", mode="constant", pad_width=width,
                constant_value=value)


def _conv_geometry(g, node):
    """``(attrs, weight, kernel, begin pads, end pads)`` shared by Conv and ConvTranspose."""
    a = _attrs(node)
    w = g.consts.get(node.input[1])
    if w is None:
        raise g.unsupported("weights that are not constant")
    kernel = a.get("kernel_shape") or list(w.shape[2:])
    begin, end = _pads(g, a, len(kernel))
    return a, w, kernel, begin, end


def _with_bias(g, node, args) -> bool:
    has_bias = len(node.input) > 2 and bool(node.input[2])
    if has_bias:
        args.append(g.ref(node.input[2]))
    return has_bias


@converter("Conv")
def conv(g, node):
    a, w, kernel, begin, end = _conv_geometry(g, node)
    n = len(kernel)
    x = g.ref(node.input[0])
    if begin != end:
        x, begin = _pad_input(g, x, begin, end), [0] * n
    args = [x, g.ref(node.input[1])]
    has_bias = _with_bias(g, node, args)
    return g.op("Convolution", args, kernel=kernel, stride=a.get("strides") or [1] * n,
                dilate=a.get("dilations") or [1] * n, pad=begin, num_filter=w.shape[0], num_group=a.get("group", 1),
                no_bias=not has_bias)


@converter("ConvTranspose")
def conv_transpose(g, node):
    a, w, kernel, begin, end = _conv_geometry(g, node)
    n = len(kernel)
    if begin != end or a.get("output_shape"):
        raise g.unsupported("asymmetric pads or output_shape")
    group = a.get("group", 1)
    args = [g.ref(node.input[0]), g.ref(node.input[1])]
    has_bias = _with_bias(g, node, args)
    return g.op("Deconvolution", args, kernel=kernel, stride=a.get("strides") or [1] * n,
                dilate=a.get("dilations") or [1] * n, pad=begin, adj=a.get("output_padding") or [0] * n,
                num_filter=w.shape[1] * group, num_group=group, no_bias=not has_bias)


@converter("BatchNormalization")
def batch_norm(g, node):
    a = _attrs(node)
    if a.get("training_mode", 0) or any(o in g.consumed for o in node.output[1:]):
        raise g.unsupported("training mode")
    x, scale, bias, mean, var = node.input[:5]
    args = [g.ref(x), g.ref(scale), g.ref(bias)]
    # Running statistics are MXNet auxiliary states ("aux:" in the .params file).
    args += [g.param(mean, aux=True), g.param(var, aux=True)]
    return g.op("BatchNorm", args, eps=a.get("epsilon", 1e-5), momentum=a.get("momentum", 0.9), fix_gamma=False,
                use_global_stats=True, axis=1)


_ACT = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softrelu", "Softsign": "softsign"}


@converter(*_ACT)
def activation(g, node):
    return g.op("Activation", [g.ref(node.input[0])], act_type=_ACT[node.op_type])


@converter("LeakyRelu", "Elu", "Selu", "PRelu")
def leaky(g, node):
    a = _attrs(node)
    x = g.ref(node.input[0])
    if node.op_type == "LeakyRelu":
        return g.op("LeakyReLU", [x], act_type="leaky", slope=a.get("alpha", 0.01))
    if node.op_type == "Elu":
        return g.op("LeakyReLU", [x], act_type="elu", slope=a.get("alpha", 1.0))
    if node.op_type == "Selu":
        return g.op("LeakyReLU", [x], act_type="selu")
    slope = g.consts.get(node.input[1])
    if slope is None or slope.size not in (1, g.shapes.get(node.input[0], [0, -1])[1]):
        raise g.unsupported("slope that is not a per-channel constant")
    return g.op("LeakyReLU", [x, g.param(node.input[1], slope.reshape(-1))], act_type="prelu")


def _pool(g, node, pool_type):
    a = _attrs(node)
    kernel = a["kernel_shape"]
    n = len(kernel)
    if any(d != 1 for d in (a.get("dilations") or [1] * n)):
        raise g.unsupported("dilations")
    begin, end = _pads(g, a, n)
    x = g.ref(node.input[0])
    include = bool(a.get("count_include_pad", 0))
    if begin != end:
        if pool_type == "avg" and not include:
            raise g.unsupported("asymmetric padding without count_include_pad")
        x = _pad_input(g, x, begin, end, value=-3.4e38 if pool_type == "max" else 0.0)
        begin = [0] * n
    return g.op("Pooling", [x], kernel=kernel, stride=a.get("strides") or [1] * n, pad=begin, pool_type=pool_type,
                pooling_convention="full" if a.get("ceil_mode", 0) else "valid",
                count_include_pad=include if pool_type == "avg" else None)


@converter("MaxPool")
def max_pool(g, node):
    if len(node.output) > 1 and node.output[1] in g.consumed:
        raise g.unsupported("indices output")
    return _pool(g, node, "max")


@converter("AveragePool")
def average_pool(g, node):
    return _pool(g, node, "avg")


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(g, node):
    rank = g.rank(node.input[0]) or 4
    return g.op("Pooling", [g.ref(node.input[0])], kernel=[1] * (rank - 2), global_pool=True,
                pool_type="avg" if node.op_type == "GlobalAveragePool" else "max")


@converter("Gemm")
def gemm(g, node):
    a = _attrs(node)
    if a.get("transA", 0):
        raise g.unsupported("transA=1")
    w = g.consts.get(node.input[1])
    if w is None:
        raise g.unsupported("B that is not constant")
    w = w if a.get("transB", 0) else w.T
    w = w * a.get("alpha", 1.0)
    args = [g.ref(node.input[0]), g.param(node.input[1], np.ascontiguousarray(w, dtype=w.dtype))]
    has_bias = len(node.input) > 2 and node.input[2]
    if has_bias:
        b = g.consts.get(node.input[2])
        if b is None or b.size not in (1, w.shape[0]):
            raise g.unsupported("C that is not a constant vector")
        b = np.broadcast_to(b.reshape(-1), (w.shape[0],)) * a.get("beta", 1.0)
        args.append(g.param(node.input[2], np.ascontiguousarray(b, dtype=w.dtype)))
    return g.op("FullyConnected", args, num_hidden=w.shape[0], no_bias=not has_bias, flatten=False)


@converter("MatMul")
def matmul(g, node):
    b = g.consts.get(node.input[1])
    if b is not None and b.ndim == 2:
        return g.op("FullyConnected", [g.ref(node.input[0]), g.param(node.input[1], np.ascontiguousarray(b.T))],
                    num_hidden=b.shape[1], no_bias=True, flatten=False)
    ra, rb = g.rank(node.input[0]), g.rank(node.input[1])
    if ra == rb == 2:
        return g.op("dot", [g.ref(node.input[0]), g.ref(node.input[1])])
    if ra == rb == 3:
        return g.op("batch_dot", [g.ref(node.input[0]), g.ref(node.input[1])])
    raise g.unsupported(f"ranks {ra} and {rb}")


@converter("Flatten")
def flatten(g, node):
    axis = _attrs(node).get("axis", 1)
    if axis == 1:
        return g.op("Flatten", [g.ref(node.input[0])])
    shape = g.shapes.get(node.input[0])
    if not shape or any(d is None for d in shape):
        raise g.unsupported(f"axis={axis} with unknown shape")
    axis %= len(shape)
    return g.op("Reshape", [g.ref(node.input[0])], shape=[int(np.prod(shape[:axis])), -1])


def _aligned(g, tensor, rank):
    """A constant reshaped to ``rank`` dims (ONNX broadcasts across ranks; MXNet's legacy ops do not)."""
    value = g.consts.get(tensor)
    if value is not None and value.ndim < rank:
        return g.param(tensor, value.reshape((1,) * (rank - value.ndim) + value.shape),
                       name=f"{tensor}_r{rank}")
    r = g.rank(tensor)
    ref = g.ref(tensor)
    if r is not None and r < rank:
        return g.op("Reshape", [ref], name=f"{tensor}_r{rank}", shape=[1] * (rank - r) + [0] * r)
    return ref


_BINARY = {"Add": "broadcast_add", "Sub": "broadcast_sub", "Mul": "broadcast_mul", "Div": "broadcast_div",
           "Pow": "broadcast_power", "Max": "broadcast_maximum", "Min": "broadcast_minimum"}


@converter(*_BINARY)
def binary(g, node):
    if len(node.input) != 2:
        if node.op_type in ("Max", "Min") and len(node.input) == 1:
            return g.op("_copy", [g.ref(node.input[0])])
        raise g.unsupported(f"{len(node.input)} inputs")
    ranks = [g.rank(i) for i in node.input]
    if None in ranks:
        raise g.unsupported("inputs of unknown rank")
    rank = max(ranks)
    return g.op(_BINARY[node.op_type], [_aligned(g, i, rank) for i in node.input])


@converter("Sum")
def sum_(g, node):
    ranks = [g.rank(i) for i in node.input]
    if len(set(ranks)) != 1:
        raise g.unsupported("inputs of different ranks")
    return g.op("add_n", [g.ref(i) for i in node.input], num_args=len(node.input))


_UNARY = {"Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Neg": "negative", "Floor": "floor",
          "Ceil": "ceil", "Reciprocal": "reciprocal", "Erf": "erf", "Sin": "sin", "Cos": "cos",
          "Identity": "_copy", "Dropout": "_copy"}


@converter(*_UNARY)
def unary(g, node):
    if node.op_type == "Dropout" and len(node.output) > 1 and node.output[1] in g.consumed:
        raise g.unsupported("mask output")
    return g.op(_UNARY[node.op_type], [g.ref(node.input[0])])


@converter("Concat")
def concat(g, node):
    return g.op("Concat", [g.ref(i) for i in node.input], dim=_attrs(node)["axis"], num_args=len(node.input))


@converter("Clip")
def clip(g, node):
    lo = _scalar(g, node.input[1]) if len(node.input) > 1 and node.input[1] else -3.4e38
    hi = _scalar(g, node.input[2]) if len(node.input) > 2 and node.input[2] else 3.4e38
    return g.op("clip", [g.ref(node.input[0])], a_min=lo, a_max=hi)


@converter("Softmax", "LogSoftmax")
def softmax(g, node):
    axis = _attrs(node).get("axis", -1)
    return g.op("softmax" if node.op_type == "Softmax" else "log_softmax", [g.ref(node.input[0])], axis=axis)


@converter("Reshape")
def reshape(g, node):
    shape = g.consts.get(node.input[1])
    if shape is None:
        raise g.unsupported("a shape that is not constant")
    if _attrs(node).get("allowzero", 0) and 0 in shape:
        raise g.unsupported("allowzero=1")
    return g.op("Reshape", [g.ref(node.input[0])], shape=[int(v) for v in shape])


@converter("Transpose")
def transpose(g, node):
    perm = _attrs(node).get("perm")
    return g.op("transpose", [g.ref(node.input[0])], axes=perm)


@converter("Squeeze", "Unsqueeze")
def squeeze(g, node):
    a = _attrs(node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1:
        axes = [int(v) for v in g.consts[node.input[1]]]
    x = g.ref(node.input[0])
    if node.op_type == "Squeeze":
        return g.op("squeeze", [x], axis=axes)
    rank = (g.rank(node.input[0]) or 0) + len(axes)
    for i, ax in enumerate(sorted(a % rank for a in axes)):
        x = g.op("expand_dims", [x], name=f"{node.output[0]}_{i}", axis=ax)
    return x


@converter("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd")
def reduce(g, node):
    a = _attrs(node)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = [int(v) for v in g.consts[node.input[1]]]
    op = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod"}
    if not axes and a.get("noop_with_empty_axes", 0):
        return g.op("_copy", [g.ref(node.input[0])])
    return g.op(op[node.op_type], [g.ref(node.input[0])], axis=axes or None, keepdims=bool(a.get("keepdims", 1)))


@converter("Pad")
def pad(g, node):
    a = _attrs(node)
    pads = [int(v) for v in g.consts[node.input[1]]]
    value = _scalar(g, node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    n = len(pads) // 2
    if n not in (4, 5) or len(node.input) > 3 and node.input[3]:
        raise g.unsupported("padding outside 4-D/5-D")
    width = [v for pair in zip(pads[:n], pads[n:]) for v in pair]
    return g.op("Pad", [g.ref(node.input[0])], mode=mode, pad_width=width, constant_value=value)


@converter("LRN")
def lrn(g, node):
    a = _attrs(node)
    return g.op("LRN", [g.ref(node.input[0])], alpha=a.get("alpha", 1e-4), beta=a.get("beta", 0.75),
                knorm=a.get("bias", 1.0), nsize=a["size"])


@converter("InstanceNormalization")
def instance_norm(g, node):
    return g.op("InstanceNorm", [g.ref(i) for i in node.input], eps=_attrs(node).get("epsilon", 1e-5))


@converter("Gather")
def gather(g, node):
    idx = g.consts.get(node.input[1])
    axis = _attrs(node).get("axis", 0)
    indices = g.param(node.input[1], idx.astype(np.float32)) if idx is not None else g.ref(node.input[1])
    return g.op("take", [g.ref(node.input[0]), indices], axis=axis, mode="wrap")


@converter("Cast")
def cast(g, node):
    to = _attrs(node)["to"]
    return g.op("Cast", [g.ref(node.input[0])], dtype=str(np.dtype(helper.tensor_dtype_to_np_dtype(to))))
