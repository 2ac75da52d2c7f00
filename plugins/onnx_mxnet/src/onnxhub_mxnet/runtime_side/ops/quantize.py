"""Quantization: (De)QuantizeLinear, DynamicQuantizeLinear and the integer/QLinear matmuls and convs.

Integer arithmetic runs in float64 on MXNet's kernels (exact for the 8/16-bit values and
int32 accumulations these ops take); rounding is MXNet's half-to-even ``np.round``.
The quantized type comes from the hub (``q_dtype``, and ``narrow_*`` for a type MXNet
lacks, computed in a wider one); float8/float4 targets are rounded where they leave the runtime.
"""

import numpy as onp
from mxnet import np

from .common import TABLE
from .nn import conv


def _along(v, x, axis, block):
    """A scale or zero point broadcast against ``x``: scalar, per-axis (1-D) or blocked."""
    if v.ndim == 0 or v.size == 1 and not block:
        return v.reshape(())
    axis = axis % x.ndim
    if block:
        v = np.repeat(v, block, axis=axis)
        index = [slice(None)] * x.ndim
        index[axis] = slice(0, x.shape[axis])
        return v[tuple(index)]
    shape = [1] * x.ndim
    shape[axis] = v.size
    return v.reshape(tuple(shape))


def _range(attrs, dtype):
    if "narrow" in attrs:
        return attrs["narrow_min"], attrs["narrow_max"], bool(attrs.get("narrow_int"))
    if onp.issubdtype(onp.dtype(dtype), onp.integer):
        info = onp.iinfo(dtype)
        return int(info.min), int(info.max), True
    return None, None, False


def _saturate(y, attrs, dtype):
    lo, hi, integer = _range(attrs, dtype)
    if integer:
        return np.clip(np.round(y), lo, hi).astype(dtype)
    if lo is not None and attrs.get("saturate", 1) and attrs["narrow"].startswith("float8"):
        y = np.clip(y, lo, hi)
    return y.astype(dtype)


@TABLE.register("DequantizeLinear", since=10)
def dequantize_linear(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    out_dtype = attrs.get("dtype_name") or str(scale.dtype)
    y = x.astype("float64")
    if zp is not None:
        y = y - _along(zp.astype("float64"), x, axis, block)
    return [(y * _along(scale.astype("float64"), x, axis, block)).astype(out_dtype)]


@TABLE.register("QuantizeLinear", since=10)
def quantize_linear(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    dtype = attrs.get("q_dtype", "uint8")
    # x / scale in the inputs' float type (as ONNX computes it), the rest in float64
    ftype = str(x.dtype) if onp.issubdtype(onp.dtype(str(x.dtype)), onp.floating) else "float64"
    y = (x.astype(ftype) / _along(scale.astype(ftype), x, axis, block)).astype("float64")
    lo, hi, integer = _range(attrs, dtype)
    if integer:
        y = np.round(y)
    if zp is not None:
        y = y + _along(zp.astype("float64"), x, axis, block)
    return [_saturate(y, attrs, dtype)]


@TABLE.register("DynamicQuantizeLinear", since=11)
def dynamic_quantize_linear(inputs, attrs):
    x = inputs[0].astype("float32")  # ONNX computes the scale in float32
    lo = np.minimum(np.min(x), np.zeros((), dtype="float32"))
    hi = np.maximum(np.max(x), np.zeros((), dtype="float32"))
    scale = (hi - lo) / np.full((), 255.0, dtype="float32")
    zp = np.clip(np.round(-lo / scale), 0, 255)
    y = np.clip(np.round(x / scale) + zp, 0, 255)
    return [y.astype("uint8"), scale.astype("float32"), zp.astype("uint8")]


def _minus(v, zp, row=False):
    v = v.astype("float64")
    if zp is None:
        return v
    zp = zp.astype("float64")
    if zp.ndim == 1 and zp.size > 1 and row:  # MatMulInteger: a's zero point per row
        zp = zp.reshape(-1, 1)
    return v - zp


@TABLE.register("MatMulInteger", since=10)
def matmul_integer(inputs, attrs):
    a, b = inputs[0], inputs[1]
    azp = inputs[2] if len(inputs) > 2 else None
    bzp = inputs[3] if len(inputs) > 3 else None
    return [np.matmul(_minus(a, azp, row=True), _minus(b, bzp)).astype("int32")]


@TABLE.register("QLinearMatMul", since=10)
def qlinear_matmul(inputs, attrs):
    a, a_scale, azp, b, b_scale, bzp, y_scale, yzp = inputs
    acc = np.matmul(_minus(a, azp), _minus(b, bzp))
    y = np.round(acc * (a_scale.astype("float64") * b_scale.astype("float64") / y_scale.astype("float64")))
    y = y + yzp.astype("float64")
    return [_saturate(y, attrs, str(yzp.dtype))]


def _conv_f64(x, w, attrs, bias=None):
    inputs = [x.astype("float64"), w.astype("float64")] + ([bias.astype("float64")] if bias is not None else [])
    return conv(inputs, attrs)[0]


@TABLE.register("ConvInteger", since=10)
def conv_integer(inputs, attrs):
    x, w = inputs[0], inputs[1]
    xzp = inputs[2] if len(inputs) > 2 else None
    wzp = inputs[3] if len(inputs) > 3 else None
    xs = _minus(x, xzp)
    ws = w.astype("float64") - (_along(wzp.astype("float64"), w, 0, 0) if wzp is not None else 0.0)
    return [_conv_f64(xs, ws, attrs).astype("int32")]


@TABLE.register("QLinearConv", since=10)
def qlinear_conv(inputs, attrs):
    x, x_scale, xzp, w, w_scale, wzp, y_scale, yzp = inputs[:8]
    bias = inputs[8] if len(inputs) > 8 else None
    xs = _minus(x, xzp)
    ws = w.astype("float64") - _along(wzp.astype("float64"), w, 0, 0)
    acc = _conv_f64(xs, ws, attrs, bias)
    ws_scale = _along(w_scale.astype("float64"), acc, 1, 0)
    y = np.round(acc * (x_scale.astype("float64") * ws_scale / y_scale.astype("float64"))) + yzp.astype("float64")
    return [_saturate(y, attrs, str(yzp.dtype))]
