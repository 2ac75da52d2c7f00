"""Layers: convolutions, normalization, pooling, activations, dense, softmax."""

from __future__ import annotations

import numpy as np

from onnxhub.errors import InvalidModel

from ..convert import TABLE, attrs

_LAYOUTS = {"NCW", "NCHW", "NCDHW"}


def _kernel(a):
    """The ``kernel`` attribute: required, 1 to 3 sizes, each at least 1."""
    kernel = a.ints("kernel")
    if kernel is None:
        raise InvalidModel(f"node {a.node.name!r} ({a.node.op}) has no kernel attribute")
    if not 1 <= len(kernel) <= 3 or any(k is None or k < 1 for k in kernel):
        raise a.error("kernel", "1 to 3 sizes of at least 1")
    return kernel


def _spatial(ctx, a, kernel):
    n = len(kernel)
    layout = a.str("layout")
    if layout and layout not in _LAYOUTS:
        raise ctx.unsupported(f"layout {layout}; only channel-first layouts have an ONNX equivalent")
    stride = a.ints("stride") or [1] * n
    dilate = a.ints("dilate") or [1] * n
    pad = a.ints("pad") or [0] * n
    for key, values, low in (("stride", stride, 1), ("dilate", dilate, 1), ("pad", pad, 0)):
        if len(values) != n or any(v is None or v < low for v in values):
            raise a.error(key, f"{n} value(s) of at least {low}, one per kernel dimension")
    return stride, dilate, pad


@TABLE.register("Convolution", params=(1, 2))
def convolution(ctx, node, inputs):
    a = attrs(node)
    kernel = _kernel(a)
    stride, dilate, pad = _spatial(ctx, a, kernel)
    group, filters = a.int("num_group", 1), a.int("num_filter")
    no_bias = a.bool("no_bias", False)
    ctx.expect_shape(inputs[1], (filters, None, *kernel), "weight")
    if not no_bias:
        ctx.expect_shape(inputs[2], (filters,), "bias")
    args = inputs[:2] if no_bias else inputs[:3]
    return [ctx.one("Conv", args, kernel_shape=kernel, strides=stride, dilations=dilate, pads=pad + pad, group=group)]


@TABLE.register("Deconvolution", params=(1, 2))
def deconvolution(ctx, node, inputs):
    a = attrs(node)
    kernel = _kernel(a)
    stride, dilate, pad = _spatial(ctx, a, kernel)
    group, filters = a.int("num_group", 1), a.int("num_filter")
    no_bias = a.bool("no_bias", True)  # MXNet's default differs from Convolution's
    adj = a.ints("adj") or [0] * len(kernel)
    target = a.ints("target_shape") or []
    ctx.expect_shape(inputs[1], (None, filters // group, *kernel), "weight")
    args = inputs[:2] if no_bias else inputs[:3]
    extra = {"output_shape": target} if any(target) else {"pads": pad + pad}
    return [ctx.one("ConvTranspose", args, kernel_shape=kernel, strides=stride, dilations=dilate,
                    output_padding=adj if any(adj) else None, group=group, **extra)]


@TABLE.register("BatchNorm", "BatchNorm_v1", params=(1, 2, 3, 4))
def batch_norm(ctx, node, inputs):
    a = attrs(node)
    if a.int("axis", 1) != 1:
        raise ctx.unsupported(f"axis={a.int('axis')}; ONNX normalizes axis 1")
    x, gamma, beta, mean, var = inputs[:5]
    if a.bool("fix_gamma", True):  # symbol API default: gamma is held at 1
        g = ctx.value(gamma)
        gamma = ctx.const(np.ones(g.shape if g is not None else (1,), np.float32), name=f"{gamma}_fixed")
    return [ctx.one("BatchNormalization", [x, gamma, beta, mean, var], epsilon=a.float("eps", 1e-3))]


@TABLE.register("InstanceNorm", params=(1, 2))
def instance_norm(ctx, node, inputs):
    return [ctx.one("InstanceNormalization", inputs[:3], epsilon=attrs(node).float("eps", 1e-3))]


def _layer_norm_attrs(ctx, node):
    a = attrs(node)
    if a.bool("output_mean_var", False):
        raise ctx.unsupported("output_mean_var=True")
    return a.int("axis", -1), a.float("eps", 1e-5)


@TABLE.register("LayerNorm", params=(1, 2), since=17)
def layer_norm(ctx, node, inputs):
    """LayerNormalization (opset 17+) over the last axis."""
    axis, eps = _layer_norm_attrs(ctx, node)
    if axis != -1:
        raise ctx.unsupported(f"axis={axis}; only the last axis maps onto LayerNormalization")
    return [ctx.one("LayerNormalization", inputs[:3], axis=-1, epsilon=eps)]


@TABLE.register("LayerNorm", params=(1, 2), until=16)
def layer_norm_decomposed(ctx, node, inputs):
    """Mean and variance over the axis, written out (before LayerNormalization)."""
    axis, eps = _layer_norm_attrs(ctx, node)
    x, gamma, beta = inputs[:3]
    mean = ctx.reduce("ReduceMean", x, [axis], keepdims=1)
    centred = ctx.one("Sub", [x, mean])
    var = ctx.reduce("ReduceMean", ctx.one("Mul", [centred, centred]), [axis], keepdims=1)
    std = ctx.one("Sqrt", [ctx.one("Add", [var, ctx.const(np.float32(eps))])])
    return [ctx.one("Add", [ctx.one("Mul", [ctx.one("Div", [centred, std]), gamma]), beta])]


@TABLE.register("LRN")
def lrn(ctx, node, inputs):
    a = attrs(node)
    return [ctx.one("LRN", inputs[:1], alpha=a.float("alpha", 1e-4), beta=a.float("beta", 0.75),
                    bias=a.float("knorm", 2.0), size=a.int("nsize"))]


@TABLE.register("Pooling", "Pooling_v1")
def pooling(ctx, node, inputs):
    a = attrs(node)
    pool_type = a.str("pool_type", "max")
    if a.bool("global_pool", False):
        op = {"max": "GlobalMaxPool", "avg": "GlobalAveragePool", "lp": "GlobalLpPool"}.get(pool_type)
        if op is None:
            raise ctx.unsupported(f"global {pool_type} pooling")
        return [ctx.one(op, inputs[:1], p=a.int("p_value", 2) if pool_type == "lp" else None)]
    kernel = _kernel(a)
    stride, _, pad = _spatial(ctx, a, kernel)
    if a.ints("stride") is None:
        stride = [1] * len(kernel)
    convention = a.str("pooling_convention", "valid")
    extra = {}
    if convention == "full":
        extra["ceil_mode"] = 1
    elif convention == "same":
        extra["auto_pad"] = "SAME_UPPER"
    elif convention != "valid":
        raise ctx.unsupported(f"pooling_convention={convention}")
    if "auto_pad" not in extra:
        extra["pads"] = pad + pad
    x = inputs[0]
    if pool_type == "max":
        return [ctx.one("MaxPool", [x], kernel_shape=kernel, strides=stride, **extra)]
    if pool_type in ("avg", "sum"):
        include = 1 if a.bool("count_include_pad", True) else 0
        y = ctx.one("AveragePool", [x], kernel_shape=kernel, strides=stride, count_include_pad=include, **extra)
        if pool_type == "sum":
            y = ctx.one("Mul", [y, ctx.const(np.float32(np.prod(kernel)))])
        return [y]
    if pool_type == "lp":
        return [ctx.one("LpPool", [x], kernel_shape=kernel, strides=stride, p=a.int("p_value", 2), **extra)]
    raise ctx.unsupported(f"pool_type={pool_type}")


_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softrelu": "Softplus", "softsign": "Softsign"}


@TABLE.register("Activation")
def activation(ctx, node, inputs):
    act = attrs(node).str("act_type")
    if act not in _ACTIVATIONS:
        raise ctx.unsupported(f"act_type={act}")
    return [ctx.one(_ACTIVATIONS[act], inputs[:1])]


@TABLE.register("relu", "sigmoid", "tanh", "softsign", "log_sigmoid", "mish")
def activation_op(ctx, node, inputs):
    x = inputs[0]
    if node.op == "log_sigmoid":
        return [ctx.one("Log", [ctx.one("Sigmoid", [x])])]
    if node.op == "mish":
        return [ctx.one("Mul", [x, ctx.one("Tanh", [ctx.one("Softplus", [x])])])]
    return [ctx.one(_ACTIVATIONS[node.op], [x])]


@TABLE.register("LeakyReLU", params=(1,))
def leaky_relu(ctx, node, inputs):
    a = attrs(node)
    act, x = a.str("act_type", "leaky"), inputs[0]
    if act == "leaky":
        return [ctx.one("LeakyRelu", [x], alpha=a.float("slope", 0.25))]
    if act == "elu":
        return [ctx.one("Elu", [x], alpha=a.float("slope", 0.25))]
    if act == "selu":
        return [ctx.one("Selu", [x])]
    if act == "prelu":
        gamma = inputs[1]
        g = ctx.value(gamma)
        if g is not None and g.ndim == 1:  # per-channel slope: broadcast along axis 1
            gamma = ctx.const(g.reshape(-1, 1, 1) if g.size > 1 else g, name=f"{gamma}_bcast")
        return [ctx.one("PRelu", [x, gamma])]
    if act == "rrelu":  # inference uses the mean slope
        return [ctx.one("LeakyRelu", [x], alpha=(a.float("lower_bound", 0.125) + a.float("upper_bound", 0.334)) / 2)]
    if act == "gelu":
        half = ctx.const(np.float32(0.5))
        erf = ctx.one("Erf", [ctx.one("Div", [x, ctx.const(np.float32(np.sqrt(2.0)))])])
        return [ctx.one("Mul", [ctx.one("Mul", [x, half]), ctx.one("Add", [erf, ctx.const(np.float32(1.0))])])]
    raise ctx.unsupported(f"act_type={act}")


@TABLE.register("FullyConnected", params=(1, 2))
def fully_connected(ctx, node, inputs):
    a = attrs(node)
    hidden, no_bias = a.int("num_hidden"), a.bool("no_bias", False)
    ctx.expect_shape(inputs[1], (hidden, None), "weight")
    if not no_bias:
        ctx.expect_shape(inputs[2], (hidden,), "bias")
    x, w = inputs[0], inputs[1]
    if a.bool("flatten", True):  # symbol API default: everything after axis 0 is one feature axis
        flat = ctx.one("Flatten", [x], axis=1)
        return [ctx.one("Gemm", [flat, w] + ([] if no_bias else [inputs[2]]), transB=1)]
    wv = ctx.value(w)
    wt = ctx.const(np.ascontiguousarray(wv.T), name=f"{w}_T") if wv is not None else ctx.one("Transpose", [w])
    y = ctx.one("MatMul", [x, wt])
    return [y if no_bias else ctx.one("Add", [y, inputs[2]])]


@TABLE.register("Flatten", "flatten")
def flatten(ctx, node, inputs):
    return [ctx.one("Flatten", inputs[:1], axis=1)]


@TABLE.register("Dropout")
def dropout(ctx, node, inputs):
    return [ctx.one("Identity", inputs[:1])]  # inference: dropout does nothing


def _softmax(ctx, x, axis, temperature=None, log=False):
    if temperature not in (None, 1.0):
        x = ctx.one("Div", [x, ctx.const(np.float32(temperature))])
    return ctx.one("LogSoftmax" if log else "Softmax", [x], axis=axis)


@TABLE.register("softmax", "log_softmax")
def softmax(ctx, node, inputs):
    a = attrs(node)
    if a.bool("use_length", False):
        raise ctx.unsupported("use_length=True")
    return [_softmax(ctx, inputs[0], a.int("axis", -1), a.float("temperature"), log=node.op == "log_softmax")]


@TABLE.register("SoftmaxOutput", "Softmax")
def softmax_output(ctx, node, inputs):
    """Inference of SoftmaxOutput: softmax over the class axis; the label input is unused."""
    a = attrs(node)
    if a.bool("multi_output", False):
        return [_softmax(ctx, inputs[0], 1)]
    if a.bool("preserve_shape", False):
        return [_softmax(ctx, inputs[0], -1)]
    x = inputs[0]
    dims = ctx.shape_of(x)
    if dims is not None and len(dims) == 2:
        return [_softmax(ctx, x, 1)]
    flat = _softmax(ctx, ctx.one("Flatten", [x], axis=1), 1)
    if dims is not None and all(dims[1:]):  # a static target keeps shape inference exact at every opset
        return [ctx.one("Reshape", [flat, ctx.ints([0] + list(dims[1:]))])]
    return [ctx.one("Reshape", [flat, ctx.one("Shape", [x])])]


@TABLE.register("SoftmaxActivation")
def softmax_activation(ctx, node, inputs):
    if attrs(node).str("mode", "instance") == "channel":
        return [_softmax(ctx, inputs[0], 1)]
    return softmax_output(ctx, node, inputs[:1])


@TABLE.register("Embedding", params=(1,))
def embedding(ctx, node, inputs):
    a = attrs(node)
    ctx.expect_shape(inputs[1], (a.int("input_dim"), a.int("output_dim")), "weight")
    idx = ctx.one("Cast", [inputs[0]], to=7)  # MXNet feeds indices as floats
    return [ctx.one("Gather", [inputs[1], idx], axis=0)]


@TABLE.register("UpSampling")
def upsampling(ctx, node, inputs):
    a = attrs(node)
    if a.str("sample_type", "nearest") != "nearest" or len(inputs) != 1:
        raise ctx.unsupported(f"sample_type={a.str('sample_type')} with {len(inputs)} inputs; nearest, one input")
    s = float(a.int("scale", 1))
    return [ctx.resize(inputs[0], scales=[1.0, 1.0, s, s], mode="nearest", nearest_mode="floor",
                       coordinate_transformation_mode="asymmetric")]
