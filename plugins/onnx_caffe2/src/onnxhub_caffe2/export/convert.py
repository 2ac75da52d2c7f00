"""The Caffe2 exporter's operator table and conversion context.

Op functions (``ops/*.py``) are registered on ``TABLE`` under Caffe2's operator type names
and receive ``(ctx, op, inputs)``: ``ctx`` is a ``Caffe2Builder`` (onnxhub's
``GraphBuilder`` plus Caffe2's argument spellings), ``op`` the ``formats.netdef.Op`` and
``inputs`` one ONNX tensor name per Caffe2 input blob (weights are initializers under
their blob names). They return one name per Caffe2 output, or ``None`` for an output
Caffe2 computes only for training (a test-mode Dropout's mask, LRN's scale, Concat's
split info): reading such an output later is an ``UnsupportedOperator``.

Layout is Caffe2's ``NCHW``: ONNX's too, so tensors keep their shapes; ``order: "NHWC"``
is refused. Arguments that only tune engines (``engine``, ``use_cudnn``,
``cudnn_exhaustive_search``, ``exhaustive_search``, ``ws_nbytes_limit``, ...) are ignored.
"""

from __future__ import annotations

from onnxhub.export import GraphBuilder
from onnxhub.optable import OpTable

WHERE = "the Caffe2 exporter"
TABLE = OpTable(WHERE, domain="caffe2")

# legacy_pad values (caffe2_legacy.proto LegacyPadding)
NOTSET, VALID, SAME, CAFFE_LEGACY_POOLING = 0, 1, 2, 3


class Caffe2Builder(GraphBuilder):
    """A ``GraphBuilder`` that reads Caffe2's operator arguments."""

    def __init__(self, opset: int):
        super().__init__(opset, where=WHERE)
        self.node = None
        self.ranks: dict = {}

    def at_op(self, op, net_name: str = "") -> None:
        """Convert ``op`` next (None when done): new names and errors name it."""
        self.node = op
        if op is None:
            self.at(None, None)
        else:
            self.at(op.type, op.name or (op.outputs[0] if op.outputs else f"op{op.index}"))

    # -- arguments ---------------------------------------------------------------------
    def check_order(self, op) -> None:
        order = op.arg("order", "NCHW")
        if isinstance(order, bytes):
            order = order.decode()
        if order != "NCHW":
            raise self.unsupported(f"order {order!r}; only NCHW is converted")

    def spatial(self, op, base: str, rank: int, default):
        """A per-spatial-axis argument in any of Caffe2's spellings.

        ``kernel`` (one value for every axis), ``kernels`` (a list), ``kernel_h``/``kernel_w``;
        likewise ``stride``, ``dilation``, ``adj``. ``rank`` is the number of spatial axes.
        """
        plural = op.arg(base + "s")
        if plural is not None and len(plural):
            values = [int(v) for v in plural]
            if len(values) != rank:
                raise self.unsupported(f"{base}s {values} for {rank} spatial axes")
            return values
        if rank == 2 and (base + "_h" in op.args or base + "_w" in op.args):
            return [int(op.arg(base + "_h", default)), int(op.arg(base + "_w", default))]
        single = op.arg(base)
        if single is not None and not isinstance(single, (list,)) and not hasattr(single, "__len__"):
            return [int(single)] * rank
        return [default] * rank if default is not None else None

    def pads(self, op, rank: int) -> list:
        """ONNX ``pads`` (all begins, then all ends) from ``pad``, ``pads`` or ``pad_t/l/b/r``."""
        plural = op.arg("pads")
        if plural is not None and len(plural):
            values = [int(v) for v in plural]
            if len(values) != 2 * rank:
                raise self.unsupported(f"pads {values} for {rank} spatial axes")
            return values
        if rank == 2 and any(k in op.args for k in ("pad_t", "pad_l", "pad_b", "pad_r")):
            return [int(op.arg(k, 0)) for k in ("pad_t", "pad_l", "pad_b", "pad_r")]
        pad = op.arg("pad", 0)
        return [int(pad)] * (2 * rank)

    def spatial_rank(self, op, x: str, weight_rank: int | None = None) -> int:
        """Number of spatial axes: from the weight, else from the kernel arguments, else from the input's rank."""
        if weight_rank is not None:
            return weight_rank - 2
        kernels = op.arg("kernels")
        if kernels is not None and len(kernels):
            return len(kernels)
        if "kernel_h" in op.args or "kernel_w" in op.args:
            return 2
        return self.rank_of(x) - 2

    def scalar_arg(self, op, name: str, default):
        value = op.arg(name, default)
        if hasattr(value, "__len__") and not isinstance(value, str):
            raise self.unsupported(f"argument {name!r} must be a single value")
        return value

    # -- tensors -----------------------------------------------------------------------
    def per_channel(self, t: str, rank: int) -> str:
        """A ``[C]`` vector shaped ``[C, 1, ..., 1]`` to broadcast over a rank-``rank`` NCHW tensor."""
        arr = self.value(t)
        if arr is not None:
            return self.const(arr.reshape((-1,) + (1,) * (rank - 2)), name=f"{t}_per_channel")
        if rank <= 2:
            return t
        return self.unsqueeze(t, list(range(1, rank - 1)))

    # -- ranks, known without shape inference where the op makes them obvious -------------
    def rank_hint(self, t: str) -> int | None:
        """The rank of ``t`` when it is known cheaply (weights, inputs, ops' obvious ranks), else None."""
        if t in self.ranks:
            return self.ranks[t]
        arr = self.value(t)
        if arr is not None:
            return arr.ndim
        for vi in self.inputs:
            if vi.name == t:
                return len(vi.type.tensor_type.shape.dim)
        return None

    def rank_of(self, t: str) -> int:
        known = self.rank_hint(t)
        return known if known is not None else super().rank_of(t)

    def _infer(self, inputs, names=None) -> list:
        """Shape inference, completed by the rank hints where it gives up (Reshape to a computed shape at
        opset 13 has no inference; ONNX Runtime needs no more than the rank on a graph output)."""
        from onnx import helper

        found = super()._infer(inputs, names)
        have = {vi.name for vi in found if vi.type.tensor_type.HasField("shape")}
        for name, rank in self.ranks.items():
            if name not in have and rank is not None:
                found.append(helper.make_tensor_value_info(name, self.dtype_of(name),
                                                           [f"{name}_dim{i}" for i in range(rank)]))
        return found


# Output rank = rank of input 0, for these ops (lets most ops skip shape inference).
SAME_RANK = frozenset("""Conv Conv1D Conv2D Conv3D ConvTranspose MaxPool MaxPool1D MaxPool2D MaxPool3D AveragePool
AveragePool1D AveragePool2D AveragePool3D SpatialBN AffineChannel InstanceNorm LRN Relu Sigmoid Tanh Softplus Elu
LeakyRelu PRelu Clip Scale Dropout Softmax Sum LayerNorm GroupNorm ResizeNearest ChannelShuffle Abs Exp Log Sqrt
Negative Sqr Copy Alias StopGradient Cast Max Min Reciprocal Sign Not Selu Swish Gelu Erf Cos Sin Ceil Floor""".split())


def output_rank(op, ranks: list):
    """The rank of ``op``'s first output from its inputs' ranks (None: unknown)."""
    if op.type in SAME_RANK or op.type in ("Split", "Transpose") or (
            op.type == "Concat" and not int(op.arg("add_axis", 0))):
        return ranks[0] if ranks else None
    if op.type == "Concat" and ranks and ranks[0] is not None:
        return ranks[0] + 1
    if op.type == "Reshape" and len(ranks) == 1 and op.arg("shape") is not None:
        return len(op.arg("shape"))
    if op.type == "ExpandDims" and ranks and ranks[0] is not None:
        return ranks[0] + len(op.arg("dims", []))
    if op.type == "Squeeze" and ranks and ranks[0] is not None and len(op.arg("dims", [])):
        return ranks[0] - len(op.arg("dims", []))
    if op.type in ("Add", "Sub", "Mul", "Div") and len(ranks) >= 2 and None not in ranks[:2]:
        return max(ranks[:2])
    if op.type in ("FC", "FCTransposed"):
        return int(op.arg("axis", 1)) + 1
    if op.type in ("Flatten", "MatMul"):
        return 2
    if op.type == "FlattenToVec":
        return 1
    return None
