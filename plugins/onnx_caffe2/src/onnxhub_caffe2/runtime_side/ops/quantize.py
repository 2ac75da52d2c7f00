"""QuantizeLinear / DequantizeLinear with Caffe2 arithmetic (float32; half-to-even rounding composed as
for Round, saturation by comparisons and Where, integer types by Caffe2's Cast).

The quantized type comes from the hub (``q_dtype``, and ``narrow_*`` for a type Caffe2 lacks,
computed in a wider one). Float8/float4 targets are refused.
"""

import numpy as np

from .common import TABLE, cast
from .elementwise import _minmax, binary, expand, round_
from .shape import gather, reshape

_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767),
           "int32": (-2 ** 31, 2 ** 31 - 1)}


def _along(v, x, axis, block):
    """A scale or zero point broadcast against ``x``: scalar, per-axis (1-D) or blocked (Caffe2 Gather)."""
    if v.ndim == 0 or v.size == 1 and not block:
        return expand(v.reshape([1] * x.ndim), x.shape)
    axis = axis % x.ndim
    if block:
        return gather(v, np.array([i // block for i in range(x.shape[axis])], np.int64), axis)
    shape = [1] * x.ndim
    shape[axis] = v.size
    return expand(reshape(v, shape), x.shape)


def _range(attrs, dtype):
    if "narrow" in attrs:
        if not attrs.get("narrow_int"):
            raise NotImplementedError("a float8/float4 quantized type")
        return attrs["narrow_min"], attrs["narrow_max"]
    if dtype not in _RANGES:
        raise NotImplementedError("quantized type %s" % dtype)
    return _RANGES[dtype]


@TABLE.register("DequantizeLinear", since=10)
def dequantize_linear(inputs, attrs):
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    out_dtype = attrs.get("dtype_name") or scale.dtype.name
    y = cast(x, "float32")
    if zp is not None:
        y = binary("Sub", y, cast(_along(zp, x, axis, block), "float32"))
    return [cast(binary("Mul", y, cast(_along(scale, x, axis, block), "float32")), out_dtype)]


@TABLE.register("QuantizeLinear", since=10)
def quantize_linear(inputs, attrs):
    """saturate(round(x / scale) + zero_point), rounding half to even."""
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    dtype = attrs.get("q_dtype", "uint8")
    lo, hi = _range(attrs, dtype)
    y = binary("Div", cast(x, "float32"), cast(_along(scale, x, axis, block), "float32"))
    y = round_([y], {})[0]
    if zp is not None:
        y = binary("Add", y, cast(_along(zp, x, axis, block), "float32"))
    y = _minmax([_minmax([y, expand(np.array([lo], np.float32).reshape([1] * y.ndim), y.shape)], "GT"),
                 expand(np.array([hi], np.float32).reshape([1] * y.ndim), y.shape)], "LT")
    return [cast(y, dtype)]



@TABLE.register("DynamicQuantizeLinear", since=11)
def dynamic_quantize_linear(inputs, attrs):
    """uint8 quantization with scale = (max(0, max x) - min(0, min x)) / 255 and a rounded zero point."""
    from .reduce import reduce

    x = cast(inputs[0], "float32")
    axes = list(range(x.ndim))
    zero = np.zeros([1] * x.ndim, np.float32)
    hi = _minmax([reduce("ReduceMax", x, axes, 1), zero], "GT")
    lo = _minmax([reduce("ReduceMin", x, axes, 1), zero], "LT")
    scale = binary("Div", binary("Sub", hi, lo), np.array([255.0], np.float32).reshape([1] * x.ndim))
    zp = round_([binary("Sub", zero, binary("Div", lo, scale))], {})[0]
    zp = _minmax([_minmax([zp, zero], "GT"), np.full([1] * x.ndim, 255.0, np.float32)], "LT")
    y = binary("Add", round_([binary("Div", x, scale)], {})[0], zp)
    y = _minmax([_minmax([y, expand(zero, y.shape)], "GT"), expand(np.full([1] * x.ndim, 255.0, np.float32), y.shape)],
                "LT")
    return [cast(y, "uint8"), scale.reshape(()), cast(zp, "uint8").reshape(())]
