"""ONNX -> Caffe2 ``init_net.pb`` + ``predict_net.pb`` (+ ``value_info.json``), in pure Python.

``onnxhub.import_.prepare_model`` brings the model into the table's opset window (13 to the
newest this onnx knows; older models through the version converter), fixes input shapes
and folds shape-only subgraphs to constants; then one function per ONNX op (``ops/``, an
``OpTable``) writes Caffe2 operators into ``predict_net``. Weights and every other constant
become fill ops (``GivenTensorFill`` and its typed kin) in ``init_net``. Blobs keep the ONNX
tensor names, so a user feeds the ONNX input names and fetches the ONNX output names
(``predict_net.external_output``). The NetDefs are written with the plugin's own schema
(``formats/proto.py``); Caffe2 is not needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from onnxhub.errors import UnsupportedModel
from onnxhub.import_ import ImportContext, prepare_model

from .. import native
from ..formats.proto import messages
from .ops import TABLE

MIN_OPSET, MAX_OPSET = 13, onnx.defs.onnx_opset_version()

# numpy dtype -> (fill op, Caffe2 TensorProto.DataType) of init_net's constants.
FILLS = {"float32": ("GivenTensorFill", 1), "float64": ("GivenTensorDoubleFill", 13),
         "int32": ("GivenTensorIntFill", 2), "int64": ("GivenTensorInt64Fill", 10),
         "bool": ("GivenTensorBoolFill", 5), "int16": ("GivenTensorInt16Fill", 9)}
# ONNX element types of graph inputs/outputs Caffe2 holds, as Caffe2 TensorProto.DataType.
C2_TYPES = {TensorProto.FLOAT: 1, TensorProto.INT32: 2, TensorProto.BOOL: 5, TensorProto.UINT8: 6,
            TensorProto.INT8: 7, TensorProto.UINT16: 8, TensorProto.INT16: 9, TensorProto.INT64: 10,
            TensorProto.DOUBLE: 13}


class Graph(ImportContext):
    """The two NetDefs being written; the ONNX side's facts come from ``ImportContext``."""

    def __init__(self, model, feed_weights: bool = False):
        super().__init__(model, TABLE)
        # The backend's fast path feeds constants as arrays instead of filling them in init_net.
        self.weights: dict[str, np.ndarray] | None = {} if feed_weights else None
        _check_dtypes(model, self.types)
        m = messages()
        self.Argument, self.OperatorDef = m["Argument"], m["OperatorDef"]
        name = (model.graph.name or "model").replace("/", "_")
        self.predict, self.init = m["NetDef"](name=name), m["NetDef"](name=name + "_init")
        self.blobs: dict[str, str] = {n: n for n in self.inputs}  # ONNX tensor -> Caffe2 blob
        for tensor in _all_names(model.graph):
            self._names.add(tensor)  # fresh names never shadow an ONNX name

    # -- writing ops -------------------------------------------------------------------
    def op(self, type_: str, inputs: list, outputs=None, net=None, **args) -> list:
        """Append a Caffe2 operator; ``outputs``: blob names, or a count of fresh ones. Returns the outputs."""
        if outputs is None or isinstance(outputs, int):
            base = (self.node.output[0] if self.node is not None else type_) + "_" + type_.lower()
            outputs = [self.fresh(base) for _ in range(outputs or 1)]
        op = self.OperatorDef(type=type_, input=list(inputs), output=list(outputs))
        if self.node is not None and net is None:
            op.name = self.node.name or self.node.output[0]
        for key, value in args.items():
            if value is not None:
                op.arg.append(_argument(self.Argument, key, value))
        (net or self.predict).op.append(op)
        return list(outputs)

    def out(self, node, i: int = 0) -> str:
        """The blob of the node's ``i``-th output: its ONNX name."""
        return node.output[i]

    def const(self, value, base: str = "const") -> str:
        """A constant filled in init_net under a fresh name."""
        name = self.fresh(base)
        self._fill(name, np.asarray(value))
        return name

    def _fill(self, name: str, value: np.ndarray) -> None:
        dtype = value.dtype.name
        if dtype not in FILLS:
            raise self.unsupported(f"a constant of type {dtype}") if self.node is not None else \
                UnsupportedModel(f"constant {name!r} has type {dtype}, which has no Caffe2 fill op")
        if self.weights is not None:
            self.weights[name] = value
            self.predict.external_input.append(name)
            return
        op = FILLS[dtype][0]
        values = value.reshape(-1).tolist()
        if dtype == "bool":
            values = [int(v) for v in values]
        self.op(op, [], [name], net=self.init, shape=list(value.shape), values=values)
        self.init.external_output.append(name)
        self.predict.external_input.append(name)

    def fill_constant(self, name: str, shape: list, value) -> str:
        """Blob ``name`` of ``shape`` filled with one ``value`` by Caffe2's ConstantFill in init_net."""
        value = np.asarray(value)
        dtype = value.dtype.name
        if dtype not in FILLS or self.weights is not None:
            self._fill(name, np.full(shape, value, value.dtype))
        else:
            scalar = bool(value) if dtype == "bool" else float(value) if value.dtype.kind == "f" else int(value)
            self.op("ConstantFill", [], [name], net=self.init, shape=list(shape), value=scalar,
                    dtype=FILLS[dtype][1])
            self.init.external_output.append(name)
            self.predict.external_input.append(name)
        self.blobs[name] = name
        return name

    def blob(self, tensor: str) -> str:
        """The Caffe2 blob of an ONNX tensor; a constant is filled in init_net on first use."""
        if tensor not in self.blobs:
            if tensor not in self.consts:
                raise UnsupportedModel(f"tensor {tensor!r} is neither produced nor constant")
            self._fill(tensor, np.asarray(self.consts[tensor]))
            self.blobs[tensor] = tensor
        return self.blobs[tensor]

    def bind(self, node, result) -> None:
        outs = [result] if isinstance(result, str) else list(result)
        for name, blob in zip(node.output, outs):
            if name:
                self.blobs[name] = blob

    def finish(self, model) -> None:
        """External inputs/outputs; an ONNX output that is another blob (an identity) gets a Copy."""
        self.predict.external_input.extend(self.inputs)
        for vi in model.graph.output:
            blob = self.blob(vi.name)
            if blob != vi.name:
                self.node = None
                self.op("Copy", [blob], [vi.name])
            self.predict.external_output.append(vi.name)


def _all_names(graph) -> set:
    names = {vi.name for vi in list(graph.input) + list(graph.output)} | {t.name for t in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names


def _argument(Argument, key, value):
    if isinstance(value, bool):
        return Argument(name=key, i=int(value))
    if isinstance(value, (int, np.integer)):
        return Argument(name=key, i=int(value))
    if isinstance(value, (float, np.floating)):
        return Argument(name=key, f=float(value))
    if isinstance(value, str):
        return Argument(name=key, s=value.encode())
    values = list(value)
    if values and all(isinstance(v, (float, np.floating)) for v in values):
        return Argument(name=key, floats=[float(v) for v in values])
    return Argument(name=key, ints=[int(v) for v in values])


def _check_dtypes(model, types: dict) -> None:
    """``UnsupportedModel`` naming the first graph input or output whose dtype Caffe2 cannot hold."""
    for kind, infos in (("input", model.graph.input), ("output", model.graph.output)):
        for vi in infos:
            elem = types.get(vi.name) or vi.type.tensor_type.elem_type
            if elem and elem not in C2_TYPES:
                name = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else str(elem)
                raise UnsupportedModel(f"graph {kind} {vi.name!r} has dtype {name.lower()}, which Caffe2 has no "
                                       "tensors of; cast it in the ONNX model first")


def convert(model, input_shapes=None, feed_weights: bool = False) -> tuple[bytes, bytes, dict, dict | None]:
    """``(init_net bytes, predict_net bytes, value_info, weights)``; raises UnsupportedOperator naming
    every op outside the table. ``value_info``: ``{input: [Caffe2 dtype enum, shape]}`` as the model zoo
    wrote it. ``feed_weights``: constants come back as ``weights`` (``{blob: array}``) to feed, not as fills."""
    model = prepare_model(model, min_opset=MIN_OPSET, max_opset=MAX_OPSET, input_shapes=input_shapes,
                          where=TABLE.where)
    g = Graph(model, feed_weights)
    g.run()
    g.finish(model)
    info = {name: [C2_TYPES[g.types[name]], list(g.shape(name) or [])] for name in g.inputs}
    return g.init.SerializeToString(), g.predict.SerializeToString(), info, g.weights


class Caffe2Importer:
    def import_model(self, model, output_dir, input_shapes=None, **options):
        """Write ``init_net.pb``, ``predict_net.pb`` and ``value_info.json`` into ``output_dir``."""
        if options:
            from onnxhub.errors import UsageError

            raise UsageError(f"unknown Caffe2 importer option(s): {', '.join(sorted(options))}")
        init, predict, info, _ = convert(model, input_shapes)
        out = Path(output_dir)
        (out / "init_net.pb").write_bytes(init)
        (out / "predict_net.pb").write_bytes(predict)
        (out / "value_info.json").write_text(json.dumps(info))
        return [out / "init_net.pb", out / "predict_net.pb", out / "value_info.json"]


IMPORTER = Caffe2Importer()
IMPORTER.run_files = native.run_files  # onnxhub convert --verify
