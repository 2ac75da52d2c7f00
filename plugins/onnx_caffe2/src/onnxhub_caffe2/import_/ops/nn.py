"""Layers: Conv, ConvTranspose, pooling (ceil_mode as explicit end pads), BatchNorm, LRN, Gemm/MatMul, Softmax."""

from __future__ import annotations

import numpy as np

from onnxhub.import_ import attributes, conv_geometry

from . import TABLE


def _pads(geo):
    return list(geo.begin) + list(geo.end)  # Caffe2's layout, as ONNX's: every begin, then every end


@TABLE.register("Conv")
def conv(g, node):
    a = attributes(node)
    shape = g.shape(node.input[1])
    geo = conv_geometry(a, shape[2:] if shape else None, g.shape(node.input[0]))
    args = [g.blob(t) for t in node.input if t]
    return g.op("Conv", args, [g.out(node)], kernels=geo.kernel, strides=geo.strides, dilations=geo.dilations,
                pads=_pads(geo), group=geo.group, order="NCHW")


@TABLE.register("ConvTranspose")
def conv_transpose(g, node):
    """2-D, explicit pads and output_padding (Caffe2's ``adjs``), no output_shape or dilation."""
    a = attributes(node)
    w = g.constant(node.input[1], "weights")
    if len(w.shape) != 4 or a.get("output_shape") or any(d != 1 for d in a.get("dilations") or []):
        raise g.unsupported("other than 2-D with explicit pads")
    geo = conv_geometry(a, w.shape[2:], g.shape(node.input[0]), transposed=True)
    bias = g.blob(node.input[2]) if g.input(node, 2) else g.const(np.zeros(w.shape[1] * geo.group, w.dtype), "bias")
    return g.op("ConvTranspose", [g.blob(node.input[0]), g.blob(node.input[1]), bias], [g.out(node)],
                kernels=geo.kernel, strides=geo.strides, pads=_pads(geo), adjs=list(a.get("output_padding") or [0, 0]),
                group=geo.group, order="NCHW")


def _ceil_end_pads(spatial, geo):
    """End pads that make Caffe2's floor-mode output ONNX's ceil_mode one (a window must start inside
    the input or its begin pad, as ONNX says)."""
    end = list(geo.end)
    for i, size in enumerate(spatial):
        k, s = geo.kernel[i], geo.strides[i]
        total = size + geo.begin[i] + geo.end[i]
        out = -(-(total - k) // s) + 1
        if (out - 1) * s >= size + geo.begin[i]:
            out -= 1
        end[i] += max((out - 1) * s + k - total, 0)
    return end


def _pool(op, g, node):
    a = attributes(node)
    x_shape = g.shape(node.input[0])
    geo = conv_geometry(a, None, x_shape)
    if any(d != 1 for d in geo.dilations):
        raise g.unsupported("dilations")
    if g.output_used(node, 1):
        raise g.unsupported("the indices output")
    end = list(geo.end)
    if a.get("ceil_mode", 0):
        if not x_shape or any(not isinstance(d, int) for d in x_shape[2:]):
            raise g.unsupported("ceil_mode with an input of unknown shape")
        end = _ceil_end_pads(x_shape[2:], geo)
    args = dict(kernels=geo.kernel, strides=geo.strides, pads=list(geo.begin) + end, order="NCHW")
    if op == "AveragePool":
        include = bool(a.get("count_include_pad", 0))
        if include and end != list(geo.end):
            raise g.unsupported("count_include_pad with ceil_mode")  # the ceil part never counts
        args["count_include_pad"] = include
    return g.op(op, [g.blob(node.input[0])], [g.out(node)], **args)


TABLE.add("MaxPool", lambda g, node: _pool("MaxPool", g, node))
TABLE.add("AveragePool", lambda g, node: _pool("AveragePool", g, node))
def _global(op, g, node):
    """The pooling with the whole spatial size as its kernel (Caffe2's ``global_pooling`` when unknown: then
    the op goes unnamed, as Caffe2 demands kernels of an op whose name contains "Pool")."""
    shape = g.shape(node.input[0])
    if shape and all(isinstance(d, int) for d in shape[2:]):
        return g.op(op, [g.blob(node.input[0])], [g.out(node)], kernels=list(shape[2:]), order="NCHW")
    out = g.op(op, [g.blob(node.input[0])], [g.out(node)], global_pooling=True, order="NCHW")
    g.predict.op[-1].ClearField("name")
    return out


TABLE.add("GlobalAveragePool", lambda g, node: _global("AveragePool", g, node))
TABLE.add("GlobalMaxPool", lambda g, node: _global("MaxPool", g, node))


@TABLE.register("BatchNormalization")
def batch_norm(g, node):
    """Inference BatchNorm: Caffe2's SpatialBN (is_test); a 2-D input goes through [N, C, 1, 1]."""
    a = attributes(node)
    if a.get("training_mode", 0):
        raise g.unsupported("training mode")
    args = [g.blob(t) for t in node.input[:5]]
    rank = g.rank(node.input[0])
    eps = float(a.get("epsilon", 1e-5))
    if rank == 2:
        args[0] = g.op("ExpandDims", [args[0]], dims=[2, 3])[0]
        y = g.op("SpatialBN", args, is_test=1, epsilon=eps, order="NCHW")[0]
        return g.op("Squeeze", [y], [g.out(node)], dims=[2, 3])
    return g.op("SpatialBN", args, [g.out(node)], is_test=1, epsilon=eps, order="NCHW")


@TABLE.register("InstanceNormalization")
def instance_norm(g, node):
    return g.op("InstanceNorm", [g.blob(t) for t in node.input], [g.out(node)],
                epsilon=float(attributes(node).get("epsilon", 1e-5)), order="NCHW")


@TABLE.register("LRN")
def lrn(g, node):
    a = attributes(node)
    return g.op("LRN", [g.blob(node.input[0])], [g.out(node), g.fresh(node.output[0] + "_scale")],
                size=int(a["size"]), alpha=float(a.get("alpha", 1e-4)), beta=float(a.get("beta", 0.75)),
                bias=float(a.get("bias", 1.0)), order="NCHW")[0]


@TABLE.register("Gemm")
def gemm(g, node):
    """FC (X W^T + b) when it fits exactly; else MatMul (trans_a/trans_b), Scale and Add."""
    a = attributes(node)
    ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    c = g.input(node, 2)
    w_shape = g.shape(node.input[1])
    c_shape = g.shape(c) if c else None
    if (not ta and tb and alpha == 1.0 and beta == 1.0 and c and w_shape and c_shape == [w_shape[0]]):
        return g.op("FC", [g.blob(node.input[0]), g.blob(node.input[1]), g.blob(c)], [g.out(node)])
    y = g.op("MatMul", [g.blob(node.input[0]), g.blob(node.input[1])], trans_a=ta, trans_b=tb)[0]
    if alpha != 1.0:
        y = g.op("Scale", [y], scale=alpha)[0]
    if c is None:
        return g.op("Copy", [y], [g.out(node)])
    cb = g.blob(c) if beta == 1.0 else g.op("Scale", [g.blob(c)], scale=beta)[0]
    return g.op("Add", [y, cb], [g.out(node)])


@TABLE.register("MatMul")
def matmul(g, node):
    ra, rb = g.rank(node.input[0]), g.rank(node.input[1])
    if ra == 2 and rb == 2:
        return g.op("MatMul", [g.blob(node.input[0]), g.blob(node.input[1])], [g.out(node)])
    if ra is None or rb is None:
        raise g.unsupported("inputs of unknown rank")
    return g.op("BatchMatMul", [g.blob(node.input[0]), g.blob(node.input[1])], [g.out(node)], broadcast=1)


def _over_last(g, node, fn):
    """``fn(blob, out)`` on the last axis, the ONNX axis moved there by Transpose and back: ONNX's
    opset-13 softmaxes normalise one axis where Caffe2's flatten everything from the axis on."""
    rank = g.rank(node.input[0])
    if rank is None:
        raise g.unsupported("an input of unknown rank")
    axis = int(attributes(node).get("axis", -1)) % rank
    x = g.blob(node.input[0])
    if axis == rank - 1:
        return fn(x, g.out(node), rank - 1)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    t = g.op("Transpose", [x], axes=perm)[0]
    y = fn(t, g.fresh(node.output[0] + "_t"), rank - 1)
    return g.op("Transpose", [y], [g.out(node)], axes=perm)


@TABLE.register("Softmax", since=13)
def softmax(g, node):
    return _over_last(g, node, lambda x, out, axis: g.op("Softmax", [x], [out], axis=axis)[0])


@TABLE.register("LogSoftmax", since=13)
def log_softmax(g, node):
    """x - max - log(sum(exp(x - max))) on the last axis (Caffe2 has no LogSoftmax)."""
    def run(x, out, axis):
        m = g.op("ReduceMax", [x], axes=[axis], keepdims=1)[0]
        d = g.op("Sub", [x, m])[0]
        s = g.op("ReduceSum", [g.op("Exp", [d])[0]], axes=[axis], keepdims=1)[0]
        return g.op("Sub", [d, g.op("Log", [s])[0]], [out])[0]
    return _over_last(g, node, run)
