"""Layers: Conv, ConvTranspose, pooling, normalizations, Gemm/MatMul, Softmax, Dropout."""

from __future__ import annotations

import numpy as np

from onnxhub.import_ import attributes, conv_geometry

from . import TABLE


def _geometry(g, node, transposed=False):
    """``(attrs, weight, ConvGeometry)`` of a Conv/ConvTranspose; the weight is constant (it sets num_filter)."""
    a = attributes(node)
    w = g.constant(node.input[1], "weights")
    return a, w, conv_geometry(a, w.shape[2:], g.shape(node.input[0]), transposed=transposed)


def _padded(g, x, geo, value=0.0):
    """``(x, pads)`` for an MXNet layer, which pads symmetrically: asymmetric pads become a Pad op first."""
    if geo.symmetric:
        return x, geo.begin
    if len(geo.kernel) not in (2, 3):
        raise g.unsupported("asymmetric padding outside 2-D/3-D")
    width = [0, 0, 0, 0] + [v for pair in zip(geo.begin, geo.end) for v in pair]
    x = g.op("Pad", [x], name=g.node.output[0] + "_pad", mode="constant", pad_width=width, constant_value=value)
    return x, [0] * len(geo.kernel)


def _with_bias(g, node, args) -> bool:
    bias = g.input(node, 2)
    if bias:
        args.append(g.ref(bias))
    return bias is not None


@TABLE.register("Conv")
def conv(g, node):
    _, w, geo = _geometry(g, node)
    x, pad = _padded(g, g.ref(node.input[0]), geo)
    args = [x, g.ref(node.input[1])]
    no_bias = not _with_bias(g, node, args)
    return g.op("Convolution", args, kernel=geo.kernel, stride=geo.strides, dilate=geo.dilations, pad=pad,
                num_filter=w.shape[0], num_group=geo.group, no_bias=no_bias)


@TABLE.register("ConvTranspose")
def conv_transpose(g, node):
    """Symmetric pads, no output_shape."""
    a, w, geo = _geometry(g, node, transposed=True)
    if not geo.symmetric or a.get("output_shape"):
        raise g.unsupported("asymmetric pads or output_shape")
    args = [g.ref(node.input[0]), g.ref(node.input[1])]
    no_bias = not _with_bias(g, node, args)
    return g.op("Deconvolution", args, kernel=geo.kernel, stride=geo.strides, dilate=geo.dilations, pad=geo.begin,
                adj=a.get("output_padding") or [0] * len(geo.kernel), num_filter=w.shape[1] * geo.group,
                num_group=geo.group, no_bias=no_bias)


@TABLE.register("BatchNormalization")
def batch_norm(g, node):
    """Inference mode; the running statistics become MXNet auxiliary states ("aux:" in .params)."""
    a = attributes(node)
    if a.get("training_mode", 0) or g.output_used(node, 1) or g.output_used(node, 2):
        raise g.unsupported("training mode")
    x, scale, bias, mean, var = node.input[:5]
    args = [g.ref(x), g.ref(scale), g.ref(bias), g.param(mean, aux=True), g.param(var, aux=True)]
    return g.op("BatchNorm", args, eps=a.get("epsilon", 1e-5), momentum=a.get("momentum", 0.9), fix_gamma=False,
                use_global_stats=True, axis=1)


@TABLE.register("InstanceNormalization")
def instance_norm(g, node):
    return g.op("InstanceNorm", [g.ref(i) for i in node.input], eps=attributes(node).get("epsilon", 1e-5))


@TABLE.register("LRN")
def lrn(g, node):
    a = attributes(node)
    return g.op("LRN", [g.ref(node.input[0])], alpha=a.get("alpha", 1e-4), beta=a.get("beta", 0.75),
                knorm=a.get("bias", 1.0), nsize=a["size"])


def _pool(g, node, pool_type):
    a = attributes(node)
    geo = conv_geometry(a, input_shape=g.shape(node.input[0]))
    if any(d != 1 for d in geo.dilations):
        raise g.unsupported("dilations")
    include = bool(a.get("count_include_pad", 0))
    if pool_type == "avg" and not include and not geo.symmetric:
        return _avg_pool_asymmetric(g, node, a, geo)
    x, pad = _padded(g, g.ref(node.input[0]), geo, value=-3.4e38 if pool_type == "max" else 0.0)
    return g.op("Pooling", [x], kernel=geo.kernel, stride=geo.strides, pad=pad, pool_type=pool_type,
                pooling_convention="full" if a.get("ceil_mode", 0) else "valid",
                count_include_pad=include if pool_type == "avg" else None)


def _avg_pool_asymmetric(g, node, a, geo):
    """count_include_pad=0 with pads begin != end: zero ``Pad``, a kernel-size average, then a constant
    per-position factor ``kernel size / valid count`` (the window's elements inside the unpadded input)."""
    spatial = (g.shape(node.input[0]) or [])[2:]
    if len(spatial) != len(geo.kernel) or any(not isinstance(d, int) for d in spatial):
        raise g.unsupported("asymmetric padding without count_include_pad on an input of unknown shape")
    if a.get("ceil_mode", 0):
        raise g.unsupported("asymmetric padding without count_include_pad in ceil_mode")
    counts = []
    for size, k, s, b, e in zip(spatial, geo.kernel, geo.strides, geo.begin, geo.end):
        starts = np.arange((size + b + e - k) // s + 1) * s - b
        counts.append(np.minimum(starts + k, size) - np.maximum(starts, 0))
    count = counts[0]
    for c in counts[1:]:
        count = np.multiply.outer(count, c)
    factor = (np.prod(geo.kernel) / count).astype(np.float32)[None, None]
    x, pad = _padded(g, g.ref(node.input[0]), geo)
    pooled = g.op("Pooling", [x], name=node.output[0] + "_sum", kernel=geo.kernel, stride=geo.strides, pad=pad,
                  pool_type="avg", pooling_convention="valid", count_include_pad=True)
    return g.op("broadcast_mul", [pooled, g.variable(node.output[0] + "_count", factor)])


@TABLE.register("MaxPool")
def max_pool(g, node):
    if g.output_used(node, 1):
        raise g.unsupported("indices output")
    return _pool(g, node, "max")


@TABLE.register("AveragePool")
def average_pool(g, node):
    return _pool(g, node, "avg")


def _global_pool(g, node, pool_type):
    rank = g.rank(node.input[0]) or 4
    return g.op("Pooling", [g.ref(node.input[0])], kernel=[1] * (rank - 2), global_pool=True, pool_type=pool_type)


@TABLE.register("GlobalAveragePool")
def global_average_pool(g, node):
    return _global_pool(g, node, "avg")


@TABLE.register("GlobalMaxPool")
def global_max_pool(g, node):
    return _global_pool(g, node, "max")


@TABLE.register("Gemm")
def gemm(g, node):
    """MXNet ``FullyConnected``: constant B (alpha folded in) and C (a vector, beta folded in); no transA."""
    a = attributes(node)
    if a.get("transA", 0):
        raise g.unsupported("transA=1")
    w = g.constant(node.input[1], "B")
    w = (w if a.get("transB", 0) else w.T) * a.get("alpha", 1.0)
    args = [g.ref(node.input[0]), g.param(node.input[1], np.ascontiguousarray(w, dtype=w.dtype))]
    c = g.input(node, 2)
    if c:
        b = g.constant(c, "C")
        if b.size not in (1, w.shape[0]):
            raise g.unsupported("C that is not a vector")
        b = np.broadcast_to(b.reshape(-1), (w.shape[0],)) * a.get("beta", 1.0)
        args.append(g.param(c, np.ascontiguousarray(b, dtype=w.dtype)))
    return g.op("FullyConnected", args, num_hidden=w.shape[0], no_bias=not c, flatten=False)


@TABLE.register("MatMul")
def matmul(g, node):
    """``FullyConnected`` by a constant matrix, else ``dot`` (2-D) or ``batch_dot`` (3-D)."""
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


@TABLE.register("Softmax", since=13)
def softmax(g, node):
    """One axis (opset 13 on; before, the input was coerced to 2-D)."""
    return g.op("softmax", [g.ref(node.input[0])], axis=attributes(node).get("axis", -1))


@TABLE.register("LogSoftmax", since=13)
def log_softmax(g, node):
    return g.op("log_softmax", [g.ref(node.input[0])], axis=attributes(node).get("axis", -1))


@TABLE.register("Dropout")
def dropout(g, node):
    """Inference: a copy (no mask output, no constant training_mode=1)."""
    training = g.input(node, 2)
    if g.output_used(node, 1) or (training and g.scalar(training, "training_mode")):
        raise g.unsupported("training mode or mask output")
    return g.op("_copy", [g.ref(node.input[0])])
