"""A growing ONNX graph that an exporter's op functions add nodes to.

``GraphBuilder(opset)`` holds the nodes, the graph inputs and every initializer as a
numpy array (weights stay views on the framework's files until they are written).
Op functions call ``one``/``make`` for nodes, ``const``/``ints`` for made-up constants,
the opset-aware forms of ``OpsetForms`` for ops whose signature changed, and
``shape_of``/``rank_of`` when they need a static shape. ``finish(outputs)`` assembles the
model without initializers plus the weights as ``(name, array)``, the form
``onnxhub.modelio.save_streaming`` writes one tensor at a time.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..errors import InvalidModel, UnsupportedOperator, UsageError
from .forms import OpsetForms

SMALL = 64  # constants up to this many elements keep their values for shape inference


class GraphBuilder(OpsetForms):
    """Nodes, inputs and initializers of one ONNX graph at one target ``opset``.

    :param opset: the ai.onnx opset the graph is written for.
    :param where: who builds it, for error messages ("the MXNet exporter").
    """

    op = None  # the source op being converted, for error messages (see ``at``)
    scope = None  # the source node's name: the base of new node and tensor names

    def __init__(self, opset: int, where: str = "the exporter"):
        self.opset = opset
        self.where = where
        self.opsets = {"": opset}  # domain -> version, for make(domain=...) nodes
        self.nodes: list = []
        self.inputs: list = []  # graph inputs (ValueInfoProto)
        # name -> value of every initializer: weights and made-up constants. TensorProtos are
        # made only when the file is written, so a weight is never copied before that.
        self.constants: dict[str, np.ndarray] = {}
        self._names: set[str] = set()

    # -- names -------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """An unused name: ``base``, else ``base_1``, ``base_2``, ..."""
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def claim(self, name: str) -> str:
        """Reserve a name the source model fixes (a weight's, an input's)."""
        self._names.add(name)
        return name

    def at(self, op: str | None, name: str | None) -> None:
        """Say which source node the next nodes convert (None, None: none)."""
        self.op, self.scope = op, name

    # -- nodes, inputs and constants ------------------------------------------------------
    def make(self, op_type: str, inputs: list, outputs=1, name: str | None = None, domain: str = "",
             **attrs) -> list:
        """Add a node; ``outputs`` is a count (fresh names) or the names. Attributes of value None are left out."""
        if domain not in self.opsets:
            raise ValueError(f"domain {domain!r} is not declared; call use_domain({domain!r}, version) first")
        if not domain:
            self._check_arity(op_type, inputs)
        base = name or self.scope or op_type.lower()
        if isinstance(outputs, int):
            outputs = [self.fresh(f"{base}_{op_type.lower()}") for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=self.fresh(f"{base}/{op_type}"),
                                           domain=domain, **attrs))
        return outputs

    def _check_arity(self, op_type: str, inputs: list) -> None:
        """``InvalidModel`` naming the source node when it gives an ONNX op fewer or more inputs than the op
        takes: a source node missing inputs (a truncated or hand-edited file), not a converter bug."""
        from onnx import defs

        try:
            schema = defs.get_schema(op_type, self.opset)
        except Exception:  # an op ONNX does not know at this opset: the checker says so later
            return
        low, high = schema.min_input, schema.max_input
        if not low <= len(inputs) <= high:
            want = f"{low}" if low == high else f"{low} to {high}" if high < 2**30 else f"at least {low}"
            raise InvalidModel(f"node {self.scope!r} ({self.op}) cannot be converted: ONNX {op_type} takes {want} "
                               f"input(s), the node gives {len(inputs)}")

    def one(self, op_type: str, inputs: list, **attrs) -> str:
        """Add a single-output node; its output name."""
        return self.make(op_type, inputs, 1, **attrs)[0]

    def use_domain(self, domain: str, version: int) -> None:
        """Declare an operator set besides ai.onnx (written to the model's opset imports)."""
        self.opsets[domain] = version

    def const(self, value, name: str | None = None, dtype=None) -> str:
        """A constant initializer made up by an op function."""
        name = self.fresh(name or f"{self.scope or 'const'}_const")
        self.constants[name] = np.asarray(value, dtype=dtype)
        return name

    def ints(self, values) -> str:
        """An int64 vector constant (shapes, axes, pads, indices)."""
        return self.const(np.asarray(values, dtype=np.int64), name="ints")

    def add_param(self, name: str, arr) -> str:
        """A weight of the source model, under its own name (the array is not copied)."""
        self.constants[self.claim(name)] = arr
        return name

    def add_input(self, name: str, elem_type: int, dims) -> str:
        """A graph input; ``dims`` holds ints and names of dynamic dimensions."""
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(dims)))
        return self.claim(name)

    def value(self, name: str):
        """The constant value of a tensor (a weight or a made-up constant), else None."""
        return self.constants.get(name)

    def dtype_of(self, tensor: str) -> int:
        """The ONNX element type of a constant or graph input; float when it is only known at run time."""
        arr = self.constants.get(tensor)
        if arr is not None:
            return helper.np_dtype_to_tensor_dtype(arr.dtype)
        for vi in self.inputs:
            if vi.name == tensor:
                return vi.type.tensor_type.elem_type
        return TensorProto.FLOAT

    def np_dtype_of(self, tensor: str):
        return helper.tensor_dtype_to_np_dtype(self.dtype_of(tensor))

    # -- shapes, when an op function needs them ----------------------------------------
    def shape_of(self, tensor: str) -> list | None:
        """The static shape of a tensor as ONNX shape inference sees it now (None: unknown).

        Dims are ints or None (dynamic). It runs inference over the graph built so far,
        weights described by type only, so it copies no data; still, call it only when
        a static shape is really needed.
        """
        if tensor in self.constants:
            return list(self.constants[tensor].shape)
        known = {vi.name: vi for vi in self.inputs}
        for vi in self._infer(list(known.values())) + list(known.values()):
            if vi.name == tensor and vi.type.tensor_type.HasField("shape"):
                return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        return None

    def rank_of(self, tensor: str) -> int:
        shape = self.shape_of(tensor)
        if shape is None:
            raise self.unsupported("the input's rank cannot be inferred; pass --input-shape")
        return len(shape)

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
            if arr.size <= SMALL:
                small.append(numpy_helper.from_array(np.asarray(arr), name))
            else:
                typed.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                                           list(arr.shape)))
        return typed, small

    def _infer(self, inputs, names=None) -> list:
        """Value infos ONNX shape inference finds for the nodes so far (empty when it fails)."""
        from ..import_.prepare import infer_shapes

        typed, small = self.inference_view(names)
        graph = helper.make_graph(self.nodes, "probe", inputs + typed, [], small)
        probe = helper.make_model(graph, opset_imports=self._opset_ids())
        try:
            return list(infer_shapes(probe).graph.value_info)
        except Exception:
            return []

    def _refuse_contradiction(self, inputs, names) -> None:
        """Where inference fails because shapes contradict each other (an input as wide as no weight
        takes), say so: asking for --input-shape would mislead a user who passed one."""
        from ..modelio import inconsistent, shape_contradiction

        typed, small = self.inference_view(names)
        probe = helper.make_model(helper.make_graph(self.nodes, "probe", inputs + typed, [], small),
                                  opset_imports=self._opset_ids())
        contradiction = shape_contradiction(probe)
        if contradiction:
            static = all(d.HasField("dim_value") for vi in inputs for d in vi.type.tensor_type.shape.dim)
            raise InvalidModel(inconsistent(contradiction, static))

    def _opset_ids(self) -> list:
        return [helper.make_opsetid(domain, version) for domain, version in self.opsets.items()]

    # -- the finished model --------------------------------------------------------------
    def finish(self, outputs: list, name: str = "graph", producer: str = "onnxhub"):
        """``(model without initializers, [(name, array)])`` with ``outputs`` as the graph outputs.

        Inputs and initializers nothing reads are dropped. Outputs get their type and shape
        from shape inference over the weights described by type only; an output whose rank
        stays unknown is a ``UsageError`` asking for input shapes.
        """
        used = _reads(self.nodes) | set(outputs)
        inputs = [vi for vi in self.inputs if vi.name in used]
        weights = [(n, arr) for n, arr in self.constants.items() if n in used]
        inferred = {vi.name: vi for vi in self._infer(inputs, {n for n, _ in weights})}
        inferred.update((vi.name, vi) for vi in inputs)  # an input passed straight through
        out_infos = []
        for out in outputs:
            if out not in inferred or not inferred[out].type.tensor_type.HasField("shape"):
                self._refuse_contradiction(inputs, {n for n, _ in weights})
                raise UsageError(f"cannot infer the rank of output {out!r}; pass --input-shape for every input")
            out_infos.append(inferred[out])
        opsets = self._opset_ids()
        graph = helper.make_graph(self.nodes, name, inputs, out_infos)
        ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", self.opset)])  # custom domains: any IR
        model = helper.make_model(graph, opset_imports=opsets, producer_name=producer, ir_version=ir_version)
        return model, weights

    # -- errors --------------------------------------------------------------------------
    def unsupported(self, detail: str) -> UnsupportedOperator:
        """The error for a form of the current source op the exporter cannot write (raise it)."""
        return UnsupportedOperator(f"{self.op or 'an op'} ({detail})", opset=self.opset, node=self.scope,
                                   where=self.where)


def _reads(nodes) -> set:
    """Tensor names the nodes read, from inside their subgraphs too (Scan/Loop/If bodies read outer names)."""
    names = set()
    for node in nodes:
        names.update(node.input)
        for attr in node.attribute:
            for graph in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                names |= _reads(graph.node)
    return names
