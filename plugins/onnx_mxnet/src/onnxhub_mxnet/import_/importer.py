"""ONNX -> MXNet symbol JSON + .params (files plain MXNet 1.9.1 loads), in pure Python.

The model is first brought into the importer's opset window with
``onnx.version_converter``, its shapes inferred, and shape-only subgraphs (Shape ->
Gather -> Concat -> Reshape...) folded to constants; then one converter per ONNX op
(``import_ops.py``) writes MXNet's legacy operators, the ones ``mx.sym.load`` and
``mx.gluon.SymbolBlock.imports`` take everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnxhub.errors import UnsupportedModel, UnsupportedOperator

from ..formats.params import save_params

MIN_OPSET, MAX_OPSET = 13, 21
MXNET_VERSION = 10901


class Graph:
    """The MXNet symbol being written, plus what converters need to know about the ONNX side."""

    def __init__(self, shapes: dict, consts: dict, opset: int):
        self.nodes: list[dict] = []
        self.refs: dict[str, list] = {}  # ONNX tensor name -> [node index, output index, 0]
        self.params: dict[str, np.ndarray] = {}  # "arg:x"/"aux:x" -> array
        self.shapes, self.consts, self.opset = shapes, consts, opset
        self.onnx_node = None
        self._names: set[str] = set()

    def name(self, base: str) -> str:
        base = base or "node"
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def variable(self, name: str, value: np.ndarray | None = None, aux: bool = False) -> list:
        """A null node: an input (no value) or a parameter (written to the .params file)."""
        vname = self.name(name)
        self.nodes.append({"op": "null", "name": vname, "inputs": []})
        if value is not None:
            self.params[("aux:" if aux else "arg:") + vname] = np.asarray(value)
        return [len(self.nodes) - 1, 0, 0]

    def op(self, op: str, inputs: list, n_out: int = 1, name: str | None = None, **attrs) -> list:
        if name is None:
            name = (self.onnx_node.name or self.onnx_node.output[0]) if self.onnx_node else op
        node_name = self.name(name)
        attrs = {k: _attr(v) for k, v in attrs.items() if v is not None}
        self.nodes.append({"op": op, "name": node_name, "attrs": attrs, "inputs": inputs})
        idx = len(self.nodes) - 1
        return [[idx, i, 0] for i in range(n_out)] if n_out > 1 else [idx, 0, 0]

    def param(self, tensor: str, value=None, aux=False, name=None) -> list:
        """A weight from an ONNX initializer/constant (or a given value) as an MXNet parameter."""
        value = self.consts[tensor] if value is None else value
        return self.variable(name or tensor, np.asarray(value), aux=aux)

    def ref(self, tensor: str) -> list:
        """The MXNet output for an ONNX tensor; constants become parameters on first use."""
        if tensor not in self.refs:
            if tensor not in self.consts:
                raise UnsupportedModel(f"tensor {tensor!r} is neither produced nor constant")
            self.refs[tensor] = self.param(tensor)
        return self.refs[tensor]

    def rank(self, tensor: str) -> int | None:
        shape = self.shapes.get(tensor)
        return None if shape is None else len(shape)

    def unsupported(self, detail: str = "") -> UnsupportedOperator:
        n = self.onnx_node
        return UnsupportedOperator(n.op_type + (f" ({detail})" if detail else ""), opset=self.opset,
                                   node=n.name or n.output[0], where="the MXNet importer")

    def to_json(self, heads: list) -> str:
        arg_nodes = [i for i, n in enumerate(self.nodes) if n["op"] == "null"]
        return json.dumps({"nodes": self.nodes, "arg_nodes": arg_nodes,
                           "node_row_ptr": list(range(len(self.nodes) + 1)), "heads": heads,
                           "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}, indent=1)


def _attr(v) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(str(int(x)) if isinstance(x, (int, np.integer)) else str(x) for x in v) + \
            ("," if len(v) == 1 else "") + ")"
    return str(v)


# -- preparing the ONNX model ----------------------------------------------------------------
def prepare_model(model: onnx.ModelProto, input_shapes: dict | None = None) -> onnx.ModelProto:
    """Opset window, static input shapes, shape inference and folding of shape-only subgraphs."""
    opset = next((i.version for i in model.opset_import if i.domain in ("", "ai.onnx")), None)
    for imp in model.opset_import:
        if imp.domain not in ("", "ai.onnx"):
            raise UnsupportedModel(f"operator domain {imp.domain!r} has no MXNet form")
    if opset is None:
        raise UnsupportedModel("the model imports no ai.onnx opset")
    if opset < MIN_OPSET or opset > MAX_OPSET:
        target = MIN_OPSET if opset < MIN_OPSET else MAX_OPSET
        try:
            model = onnx.version_converter.convert_version(model, target)
        except Exception as exc:
            raise UnsupportedModel(f"cannot bring opset {opset} to the importer's window "
                                   f"{MIN_OPSET}-{MAX_OPSET}: {str(exc).splitlines()[0][:200]}") from exc
    model = _fix_input_shapes(model, input_shapes or {})
    return _fold_constants(model)


def _fix_input_shapes(model, shapes: dict) -> onnx.ModelProto:
    inits = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        given = shapes.get(vi.name)
        if given is not None:
            del dims[:]
            for d in given:
                dims.add().dim_value = int(d)
        else:  # dynamic dims (a batch) become 1 for shape-dependent folding; the symbol stays general
            for d in dims:
                if not d.HasField("dim_value"):
                    d.dim_value = 1
    return model


def _fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace nodes computable from constants and static shapes by initializers."""
    from onnx.reference import ReferenceEvaluator

    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes = _shape_table(inferred)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in list(inferred.graph.input) +
             list(inferred.graph.value_info) if vi.type.HasField("tensor_type")}
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    kept = []
    for node in model.graph.node:
        value = None
        if node.op_type == "Constant":
            value = [numpy_helper.to_array(helper.get_attribute_value(a)) if a.name == "value"
                     else np.array(helper.get_attribute_value(a)) for a in node.attribute][:1]
        elif node.op_type == "Shape" and shapes.get(node.input[0]) and all(
                isinstance(d, int) for d in shapes[node.input[0]]):
            dims = shapes[node.input[0]]
            start = next((a.i for a in node.attribute if a.name == "start"), 0)
            end = next((a.i for a in node.attribute if a.name == "end"), None)
            value = [np.array(dims[start:end] if end is not None else dims[start:], np.int64)]
        elif node.op_type == "CastLike" and node.input[0] in consts and types.get(node.input[1]):
            value = [consts[node.input[0]].astype(helper.tensor_dtype_to_np_dtype(types[node.input[1]]))]
        elif node.input and all((not i) or i in consts for i in node.input) and node.op_type in _FOLDABLE:
            try:  # shape arithmetic on constants: ONNX's own reference kernels evaluate it
                value = ReferenceEvaluator(node).run(None, {i: consts[i] for i in node.input if i})
            except Exception:
                value = None
        if value is None:
            kept.append(node)
            continue
        for name, v in zip(node.output, value):
            consts[name] = np.asarray(v)
    graph = helper.make_graph(kept, model.graph.name, list(model.graph.input), list(model.graph.output),
                              [numpy_helper.from_array(v, k) for k, v in consts.items()])
    out = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    return onnx.shape_inference.infer_shapes(out, data_prop=True)


# Shape arithmetic that folds; never layers that compute on weights (those stay MXNet's to run).
_FOLDABLE = {"Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast", "CastLike", "Add", "Sub", "Mul", "Div", "Reshape",
             "ConstantOfShape", "Range", "Equal", "Where", "ReduceProd", "Identity", "Expand", "Floor", "Ceil",
             "Max", "Min", "Neg", "Abs"}


def _shape_table(model) -> dict[str, list]:
    table = {}
    for vi in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        t = vi.type.tensor_type
        if vi.type.HasField("tensor_type") and t.HasField("shape"):
            table[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    for init in model.graph.initializer:
        table[init.name] = list(init.dims)
    return table


# -- the importer -----------------------------------------------------------------------------------
class MXNetImporter:
    def import_model(self, model, output_dir, input_shapes=None, name: str | None = None, **options):
        """Write ``NAME-symbol.json`` and ``NAME-0000.params`` into ``output_dir``."""
        if options:
            from onnxhub.errors import UsageError

            raise UsageError(f"unknown MXNet importer option(s): {', '.join(sorted(options))}")
        symbol_json, params, _ = convert(model, input_shapes)
        name = name or (model.graph.name or "model").replace("/", "_")
        out = Path(output_dir)
        (out / f"{name}-symbol.json").write_text(symbol_json)
        save_params(out / f"{name}-0000.params", params)
        return [out / f"{name}-symbol.json", out / f"{name}-0000.params"]


def convert(model, input_shapes=None) -> tuple[str, dict, list[str]]:
    """``(symbol JSON, params, input names)``; raises UnsupportedOperator for ops outside the table."""
    from .ops import CONVERTERS

    model = prepare_model(model, input_shapes)
    opset = next(i.version for i in model.opset_import if i.domain in ("", "ai.onnx"))
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    g = Graph(_shape_table(model), consts, opset)
    g.consumed = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    inputs = [vi.name for vi in model.graph.input if vi.name not in consts]
    for name in inputs:
        g.refs[name] = g.variable(name)
    missing = sorted({n.op_type for n in model.graph.node if n.op_type not in CONVERTERS})
    if missing:
        first = next(n for n in model.graph.node if n.op_type in missing)
        raise UnsupportedOperator(", ".join(missing), opset=opset, node=first.name or first.output[0],
                                  where="the MXNet importer")
    for node in model.graph.node:
        g.onnx_node = node
        try:
            outs = CONVERTERS[node.op_type](g, node)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # An input the converter needs as a constant is computed at run time, or an attribute
            # form it does not know: the op is outside what this table expresses.
            raise g.unsupported(f"{type(exc).__name__}: {exc}") from exc
        outs = outs if isinstance(outs[0], list) else [outs]
        for name, ref in zip(node.output, outs):
            if name:
                g.refs[name] = ref
    g.onnx_node = None
    heads = [g.ref(o.name) for o in model.graph.output]
    return g.to_json(heads), g.params, inputs


IMPORTER = MXNetImporter()
