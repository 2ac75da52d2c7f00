"""The CNTK backend's operator table and the helpers every family shares.

Runtime-side code (CPython 3.6, numpy 1.19, cntk 2.7; no onnx). Every function builds
CNTK *symbolic* functions (``cntk.ops``) from the values of its inputs and returns them:
``fn(inputs, attrs) -> [T, ...]``. The same table serves

- the operator interpreter: graph inputs and initializers are ``cntk.constant``s, so the
  composed graph is evaluated when an output is read;
- the graph builder (the backend's fast path): graph inputs are ``input_variable``s with
  the exact ONNX shape and no dynamic axis, the graph is composed once per input-shape
  signature and evaluated on every run;
- the importer: the first ONNX input dimension is CNTK's batch axis (``input_variable(
  shape[1:])``), so ops see per-sample shapes and ``axis`` shifts ONNX axes by one.

CNTK tensors hold float32/float64 only. A value keeps its ONNX dtype name beside the CNTK
variable (``T``): float32 is computed in float32, float16 in float32 (rounded at the output),
float64 and every integer or bool type in float64, which holds integers exactly below
2**53. Ops whose meaning depends on the type (integer division, casts) read ``T.dtype``.
numpy is used for metadata only (shapes, axes, attribute tensors turned into constants).
"""

import cntk as C
import numpy as np

from onnxhub.optable import OpTable

TABLE = OpTable("the CNTK backend")

INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
SUPPORTED = ("float16", "float32", "float64", "bool") + INTS


def cdtype(dtype):
    """The numpy dtype CNTK computes an ONNX dtype in."""
    return np.float32 if dtype in ("float32", "float16") else np.float64


def check_dtype(dtype, what="a tensor"):
    if dtype not in SUPPORTED:
        raise NotImplementedError("CNTK has no %s tensors (CNTK holds float32/float64; %s is %s)"
                                  % (dtype, what, dtype))


class T(object):
    """A CNTK variable (or single-output function) and the ONNX dtype name it stands for."""

    __slots__ = ("var", "dtype")

    def __init__(self, var, dtype):
        self.var, self.dtype = var, dtype

    @property
    def batch(self):
        """True when the first ONNX axis is CNTK's (dynamic) batch axis: the importer's graphs."""
        return bool(self.var.dynamic_axes)

    @property
    def shape(self):
        """The ONNX shape; the batch axis reads -1."""
        shape = tuple(self.var.shape)
        return (-1,) + shape if self.batch else shape

    @property
    def rank(self):
        return len(self.shape)

    def __getitem__(self, key):
        """Integer and slice indexing (what the plan interpreter's Scan and sequences use), by CNTK slices."""
        v, drop = self.var, []
        for ax, k in enumerate(key if isinstance(key, tuple) else (key,)):
            if isinstance(k, slice):
                start, stop, step = k.indices(self.shape[ax])
                if step != 1:
                    raise NotImplementedError("a strided index of a CNTK value")
                if (start, stop) != (0, self.shape[ax]):
                    v = C.slice(v, ax, start, stop)
            else:
                k = int(k) % self.shape[ax]
                v = C.slice(v, ax, k, k + 1)
                drop.append(ax)
        shape = tuple(d for i, d in enumerate(v.shape) if i not in drop)
        return T(C.reshape(v, shape) if drop else v, self.dtype)


class Empty(T):
    """A zero-sized tensor: CNTK has none (its kernels crash the process on them, SIGFPE), so it
    is held as metadata only: ops may read its shape, dtype and (empty) value, never compute on it."""

    __slots__ = ("array",)

    def __init__(self, array, dtype):
        self.array, self.dtype = array, dtype

    @property
    def var(self):
        raise NotImplementedError("CNTK has no zero-sized tensors (shape %s)" % (self.array.shape,))

    batch = False

    @property
    def shape(self):
        return tuple(self.array.shape)


def out(var, dtype):
    """``var`` as a value of ONNX type ``dtype``, cast to the CNTK type that dtype is computed in."""
    want = cdtype(dtype)
    if np.dtype(var.dtype) != np.dtype(want):
        var = C.cast(var, want)
    return T(var, dtype)


def const(array, dtype=None):
    """A numpy array (an initializer, an attribute, metadata) as a CNTK constant."""
    array = np.asarray(array)
    dtype = dtype or str(array.dtype)
    check_dtype(dtype)
    if 0 in array.shape:
        return Empty(array.astype(cdtype(dtype)), dtype)
    return T(C.constant(array.astype(cdtype(dtype))), dtype)


def as_function(var):
    return var if isinstance(var, C.Function) and len(var.outputs) == 1 else C.combine([var])


def value(t):
    """The value of ``t`` as numpy, for metadata (shapes, axes, counts); only when no graph input feeds it."""
    if isinstance(t, Empty):
        return t.array.astype(t.dtype if t.dtype != "float16" else "float32")
    var = t.var
    if isinstance(var, C.variables.Constant):
        data = var.value
    else:
        fn = as_function(var)
        if fn.arguments:
            raise NotImplementedError("this input is computed from a graph input, and CNTK needs it as a "
                                      "constant (a shape, axes or count): the graph has no static CNTK form")
        data = fn.eval()
    data = np.asarray(data)
    return data.astype("bool") if t.dtype == "bool" else data.astype(t.dtype if t.dtype in INTS else data.dtype)


def ints(t):
    return None if t is None else [int(v) for v in value(t).reshape(-1)]


def scalar(t, default=None):
    return default if t is None else value(t).reshape(-1)[0].item()


def axis(t, a, rank=None):
    """ONNX axis ``a`` of ``t`` as CNTK's static axis (shifted past the batch axis in imported graphs)."""
    rank = t.rank if rank is None else rank
    if not -rank <= a < max(rank, 1):
        raise ValueError("axis %d is out of range for rank %d" % (a, rank))
    a = a % rank if rank else 0
    if t.batch:
        if a == 0:
            raise NotImplementedError("the op works along axis 0, which is CNTK's batch axis in an imported "
                                      "model (import with a static batch is not offered)")
        a -= 1
    return a


def per_sample(t, other):
    """``other`` (a value without the batch axis) reshaped to broadcast against batch value ``t``."""
    if other.batch or not t.batch or other.rank < t.rank:
        return other.var
    if other.shape[0] != 1:
        raise NotImplementedError("a constant of %d along axis 0 meets CNTK's batch axis" % other.shape[0])
    return C.reshape(other.var, other.shape[1:]) if other.rank > 1 else C.reshape(other.var, ())


def pair(a, b):
    """Two operands ready for a CNTK elementwise op (batch-aware broadcasting, one CNTK dtype)."""
    va, vb = per_sample(b, a), per_sample(a, b)
    if np.dtype(va.dtype) != np.dtype(vb.dtype):
        vb = C.cast(vb, va.dtype)
    return va, vb


def trunc(var):
    """Rounding toward zero, composed: CNTK has floor but no trunc."""
    return C.element_select(C.less(var, 0), C.ceil(var), C.floor(var))


def spatial(x, fn):
    """``fn`` (a CNTK convolution/pooling, which reads a single sample [C, spatial...]) applied to ``x``.

    In imported graphs the batch is CNTK's batch axis already; with static shapes the first
    axis becomes one for the op (``to_batch``) and is put back after it.
    """
    if x.batch:
        return fn(x.var)
    n = x.shape[0]
    y = fn(C.to_batch(x.var))
    return C.reshape(C.unpack_batch(y), (n,) + tuple(y.shape))
