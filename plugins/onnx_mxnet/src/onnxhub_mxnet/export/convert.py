"""The conversion context: a growing ONNX graph that converters add nodes to.

Converters (``ops/*.py``) receive ``(ctx, node, inputs)`` where ``inputs`` are the
ONNX tensor names of the MXNet node's inputs, and return the names of its outputs.
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from onnxhub.errors import InvalidModel, UnsupportedOperator

from ..formats.attrs import Attrs

# converter registry: MXNet op name -> function
CONVERTERS: dict[str, callable] = {}
# MXNet op name -> indices of inputs that are parameters (weights), for error messages and input detection
PARAM_SLOTS: dict[str, tuple[int, ...]] = {}


def converter(*ops: str, params: tuple[int, ...] = ()):
    """Register a converter for one or more MXNet op names."""

    def register(fn):
        for op in ops:
            CONVERTERS[op] = fn
            PARAM_SLOTS[op] = params
        return fn

    return register


class Context:
    def __init__(self, opset: int, params: dict[str, np.ndarray]):
        self.opset = opset
        self.params = params
        self.nodes: list = []
        # name -> value of every initializer: weights (views on the .params memory map) and
        # constants made up by converters. TensorProtos are made only when the file is written.
        self.constants: dict[str, np.ndarray] = {}
        self._names: set[str] = set()
        self.node = None  # the MXNet node being converted (for error messages)
        self.inputs: list = []  # graph inputs (ValueInfoProto)
        self._lazy_zeros: set[str] = set()

    # -- names -------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def claim(self, name: str) -> str:
        self._names.add(name)
        return name

    # -- building ------------------------------------------------------------------
    def make(self, op_type: str, inputs: list[str], outputs: int | list[str] = 1, name: str | None = None,
             domain: str = "", **attrs) -> list[str]:
        """Add an ONNX node; return its output names."""
        base = name or (self.node.name if self.node else op_type.lower())
        if isinstance(outputs, int):
            outputs = [self.fresh(f"{base}_{op_type.lower()}") for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=self.fresh(f"{base}/{op_type}"),
                                           domain=domain, **attrs))
        return outputs

    def one(self, op_type: str, inputs: list[str], **attrs) -> str:
        return self.make(op_type, inputs, 1, **attrs)[0]

    def const(self, value, name: str | None = None, dtype=None) -> str:
        """A constant initializer (made up by a converter)."""
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(name or f"{self.node.name if self.node else 'const'}_const")
        self.constants[name] = arr
        return name

    def add_param(self, name: str, arr: np.ndarray) -> str:
        self.claim(name)
        self.constants[name] = arr
        return name

    def value(self, name: str) -> np.ndarray | None:
        """The constant value of a tensor, if it is a weight or a made-up constant."""
        return self.constants.get(name)

    def rename(self, tensor: str, wanted: str) -> str:
        """Give a node's final output MXNet's name for it (``conv0_output``), when it is free."""
        if wanted in self._names or tensor in self.constants or tensor in {vi.name for vi in self.inputs}:
            return tensor
        for node in reversed(self.nodes):
            if tensor in node.output:
                node.output[list(node.output).index(tensor)] = self.claim(wanted)
                return wanted
        return tensor

    def ints(self, values) -> str:
        return self.const(np.asarray(values, dtype=np.int64), name="ints")

    def lazy_zeros(self, name: str) -> str:
        """A zeros tensor of a shape MXNet infers at run time; only converters that accept it may read it."""
        name = self.fresh(name)
        self._lazy_zeros.add(name)
        return name

    def is_lazy_zeros(self, tensor: str) -> bool:
        return tensor in self._lazy_zeros

    def scalar_like(self, value: float, like: str) -> str:
        """A scalar constant in ``like``'s dtype (CastLike from opset 15; float32 before, MXNet's default)."""
        c = self.const(np.float32(value), name="scalar")
        return self.one("CastLike", [c, like]) if self.opset >= 15 else c

    def cast_like(self, tensor: str, like: str) -> str:
        return self.one("CastLike", [tensor, like]) if self.opset >= 15 else self.one("Cast", [tensor], to=1)

    def reduce(self, op_type: str, x: str, axes, keepdims: int = 1) -> str:
        """Reduce over ``axes`` (None: all) in the form the target opset wants."""
        axes_as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes is None:
            return self.one(op_type, [x], keepdims=keepdims)
        if axes_as_input:
            return self.one(op_type, [x, self.ints(list(axes))], keepdims=keepdims)
        return self.one(op_type, [x], axes=list(axes), keepdims=keepdims)

    # -- shapes, when a converter needs them ---------------------------------------
    def shape_of(self, tensor: str) -> list | None:
        """The static shape of a tensor as ONNX shape inference sees it now (None: unknown).

        Dims are ints or None (dynamic). Only a few converters need this (tile, exclude
        axes, dot); it runs inference over the graph built so far, weights described
        by type only, so it costs no copy of the data.
        """
        from onnx import shape_inference

        if tensor in self.constants:
            return list(self.constants[tensor].shape)
        typed, small = self.inference_view()
        known = {vi.name: vi for vi in self.inputs + typed}
        graph = helper.make_graph(self.nodes, "partial", list(known.values()), [], small)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        try:
            inferred = shape_inference.infer_shapes(model, data_prop=True).graph.value_info
        except Exception:
            return None
        for vi in list(inferred) + list(known.values()):
            if vi.name == tensor and vi.type.tensor_type.HasField("shape"):
                return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        return None

    def inference_view(self, names=None) -> tuple[list, list]:
        """What shape inference needs of the initializers: ``(typed inputs, small initializers)``.

        Weights are described by type only (no copy of their data); small constants (shape
        vectors, axes, scalars) keep their values, which inference reads.
        """
        from onnx import numpy_helper

        typed, small = [], []
        for name, arr in self.constants.items():
            if names is not None and name not in names:
                continue
            if arr.size <= 64:
                small.append(numpy_helper.from_array(np.asarray(arr), name))
            else:
                typed.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                                           list(arr.shape)))
        return typed, small

    def rank_of(self, tensor: str) -> int:
        shape = self.shape_of(tensor)
        if shape is None:
            raise self.unsupported("the input's rank cannot be inferred; pass --input-shape")
        return len(shape)

    # -- checks ---------------------------------------------------------------------
    def expect_shape(self, tensor: str, shape: tuple, what: str) -> None:
        """Fail clearly when a weight's shape disagrees with the node's attributes (None = any)."""
        arr = self.value(tensor)
        if arr is None:
            return
        ok = arr.ndim == len(shape) and all(w is None or w == d for w, d in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
            raise InvalidModel(f"node {self.node.name!r} ({self.node.op}): {what} {tensor!r} has shape "
                               f"{tuple(arr.shape)} in the .params file, but the symbol needs {want}")

    def unsupported(self, detail: str) -> UnsupportedOperator:
        node = self.node
        return UnsupportedOperator(f"{node.op} ({detail})", node=node.name, where="the MXNet exporter")


def attrs(node) -> Attrs:
    return Attrs(node)
