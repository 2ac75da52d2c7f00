"""ONNX -> MXNet symbol JSON + .params (files plain MXNet 1.9.1 loads), in pure Python.

``onnxhub.import_.prepare_model`` brings the model into the table's opset window (13-21),
fixes input shapes and folds shape-only subgraphs to constants; then one function per ONNX
op (``ops/``, an ``OpTable``) writes MXNet's legacy operators, the ones ``mx.sym.load`` and
``mx.gluon.SymbolBlock.imports`` take everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from onnx import TensorProto

from onnxhub.errors import UnsupportedModel
from onnxhub.import_ import ImportContext, prepare_model

from ..formats.params import save_params
from .ops import TABLE

MIN_OPSET, MAX_OPSET = 13, 21
MXNET_VERSION = 10901


class Graph(ImportContext):
    """The MXNet symbol being written; the ONNX side's facts come from ``ImportContext``."""

    def __init__(self, model):
        super().__init__(model, TABLE)
        _check_dtypes(model, self.types)
        self.nodes: list[dict] = []
        self.refs: dict[str, list] = {}  # ONNX tensor name -> [node index, output index, 0]
        self.params: dict[str, np.ndarray] = {}  # "arg:x"/"aux:x" -> array
        for name in self.inputs:
            self.refs[name] = self.variable(name)

    def variable(self, name: str, value: np.ndarray | None = None, aux: bool = False) -> list:
        """A null node: an input (no value) or a parameter (written to the .params file)."""
        vname = self.fresh(name)
        self.nodes.append({"op": "null", "name": vname, "inputs": []})
        if value is not None:
            self.params[("aux:" if aux else "arg:") + vname] = np.asarray(value)
        return [len(self.nodes) - 1, 0, 0]

    def op(self, op: str, inputs: list, n_out: int = 1, name: str | None = None, **attrs) -> list:
        if name is None:
            name = (self.node.name or self.node.output[0]) if self.node else op
        attrs = {k: _attr(v) for k, v in attrs.items() if v is not None}
        self.nodes.append({"op": op, "name": self.fresh(name), "attrs": attrs, "inputs": inputs})
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

    def bind(self, node, outs) -> None:
        outs = outs if isinstance(outs[0], list) else [outs]
        for name, ref in zip(node.output, outs):
            if name:
                self.refs[name] = ref

    def to_json(self, heads: list) -> str:
        arg_nodes = [i for i, n in enumerate(self.nodes) if n["op"] == "null"]
        return json.dumps({"nodes": self.nodes, "arg_nodes": arg_nodes,
                           "node_row_ptr": list(range(len(self.nodes) + 1)), "heads": heads,
                           "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}, indent=1)


# ONNX element types MXNet 1.9 has arrays of (mshadow's type flags); strings, bfloat16, float8,
# complex and 4-bit types have none, so a graph input or output of one cannot be imported.
_MXNET_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.UINT8, TensorProto.INT32,
                TensorProto.INT8, TensorProto.INT64, TensorProto.BOOL, TensorProto.INT16, TensorProto.UINT16,
                TensorProto.UINT32, TensorProto.UINT64}


def _check_dtypes(model, types: dict) -> None:
    """``UnsupportedModel`` naming the first graph input or output whose dtype MXNet cannot hold."""
    for kind, infos in (("input", model.graph.input), ("output", model.graph.output)):
        for vi in infos:
            elem = types.get(vi.name) or vi.type.tensor_type.elem_type
            if elem and elem not in _MXNET_TYPES:
                name = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else str(elem)
                raise UnsupportedModel(f"graph {kind} {vi.name!r} has dtype {name.lower()}, which MXNet has no "
                                       "arrays of; cast it in the ONNX model first")


def _attr(v) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(str(int(x)) if isinstance(x, (int, np.integer)) else str(x) for x in v) + \
            ("," if len(v) == 1 else "") + ")"
    return str(v)


class MXNetImporter:
    def import_model(self, model, output_dir, input_shapes=None, name: str | None = None, **options):
        """Write ``NAME-symbol.json`` and ``NAME-0000.params`` into ``output_dir``."""
        if options:
            from onnxhub.errors import UsageError

            raise UsageError(f"unknown MXNet importer option(s): {', '.join(sorted(options))}")
        symbol_json, params, _ = convert(model, input_shapes)
        name = name or _file_stem(model.graph.name)
        out = Path(output_dir)
        (out / f"{name}-symbol.json").write_text(symbol_json)
        save_params(out / f"{name}-0000.params", params)
        return [out / f"{name}-symbol.json", out / f"{name}-0000.params"]

    def run_files(self, files, inputs):
        """The written files loaded and run by plain MXNet (its runtime), for ``onnxhub convert --verify``."""
        from ..native import run_files

        return run_files(files, inputs)


def _file_stem(graph_name) -> str:
    """The graph's name as a file name: text (a name that is not UTF-8 comes back from protobuf as bytes),
    no path separators or NULs, at most 100 characters; ``model`` when nothing is left."""
    if isinstance(graph_name, bytes):
        graph_name = graph_name.decode("utf-8", "backslashreplace")
    stem = "".join("_" if c in "/\\\0" or not c.isprintable() else c for c in graph_name)[:100]
    return stem if stem.strip(". ") else "model"


def convert(model, input_shapes=None) -> tuple[str, dict, list[str]]:
    """``(symbol JSON, params, input names)``; raises UnsupportedOperator naming every op outside the table."""
    model = prepare_model(model, min_opset=MIN_OPSET, max_opset=MAX_OPSET, input_shapes=input_shapes,
                          where=TABLE.where)
    g = Graph(model)
    g.run()
    heads = [g.ref(o.name) for o in model.graph.output]
    return g.to_json(heads), g.params, g.inputs


IMPORTER = MXNetImporter()
