"""Operators that make new tensors: constants, ranges, identity matrices, windows."""

import math

from mxnet import np

from .common import TABLE, ints


@TABLE.register("ConstantOfShape")
def constant_of_shape(inputs, attrs):
    value = attrs.get("value")
    dims = tuple(ints(inputs[0]))
    if value is None:
        return [np.zeros(dims, dtype="float32")]
    return [np.full(dims, value.reshape(-1)[0].item(), dtype=value.dtype)]


@TABLE.register("Constant")
def constant(inputs, attrs):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            v = attrs[key]
            if key == "value":
                return [v]
            dtype = "float32" if "float" in key else "int64"
            return [np.array(v, dtype=dtype)]
    raise NotImplementedError("Constant with sparse or string values")


@TABLE.register("Range")
def range_(inputs, attrs):
    start, limit, delta = (x.item() for x in inputs)
    n = max(int(math.ceil((limit - start) / delta)), 0)
    return [(np.arange(n, dtype="float64") * delta + start).astype(inputs[0].dtype)]


@TABLE.register("EyeLike")
def eye_like(inputs, attrs):
    x = inputs[0]
    rows, cols = x.shape
    k = attrs.get("k", 0)
    i = np.arange(rows, dtype="int64").reshape(rows, 1)
    j = np.arange(cols, dtype="int64").reshape(1, cols)
    dtype = attrs.get("dtype_name") or str(x.dtype)
    return [np.equal(j - i, k).astype(dtype)]


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


TABLE.add("HannWindow", _window("hann"), since=17)
TABLE.add("HammingWindow", _window("hamming"), since=17)
TABLE.add("BlackmanWindow", _window("blackman"), since=17)
