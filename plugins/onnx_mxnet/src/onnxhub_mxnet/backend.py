"""Backend ``mxnet``: ONNX models executed by real MXNet 1.9.1 in its runtime.

Two ways to run, both on MXNet's own kernels inside the runtime worker:

- the graph executor: the importer (``importer.py``) turns the model into an MXNet
  symbol for the inputs' shapes, which the worker binds once per input-shape
  signature (shape-only subgraphs are folded for that signature). This is MXNet's
  fast path, used whenever the importer's operator table covers the model.
- the operator interpreter: every ONNX node executed in turn by ``mxnet.np`` /
  ``mxnet.npx`` (``runtime_side/onnx_ops.py``), which covers far more of ONNX.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, check_versions, graph_input_names, model_opset
from onnxhub.errors import UnsupportedModel, UnsupportedOperator
from onnxhub.runtime.bridge import RemoteError, get_worker

# numpy dtypes MXNet 1.9's numpy arrays hold; ONNX types outside this set cannot run on MXNet.
MXNET_DTYPES = {"float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"}


def _dtype_name(elem_type: int) -> str:
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return helper.tensor_dtype_to_string(elem_type)


def _check_dtype(name: str, elem_type: int, what: str) -> None:
    dtype = _dtype_name(elem_type)
    if dtype not in MXNET_DTYPES:
        raise UnsupportedModel(f"{what} {name!r} has type {dtype}, which MXNet 1.9 cannot hold")


def make_plan(model: onnx.ModelProto) -> tuple[dict, dict]:
    """The graph as JSON plus arrays (initializers ``init:NAME``, tensor attributes ``attr:N``)."""
    arrays, nodes = {}, []
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.type.HasField("tensor_type"):
            _check_dtype(vi.name, vi.type.tensor_type.elem_type, "tensor")
        else:
            raise UnsupportedModel(f"{vi.name!r} is not a tensor (sequences, maps and optionals have no MXNet form)")
    for t in model.graph.initializer:
        _check_dtype(t.name, t.data_type, "initializer")
        arrays[f"init:{t.name}"] = numpy_helper.to_array(t)
    if model.graph.sparse_initializer:
        raise UnsupportedModel("sparse initializers have no MXNet form")
    opset = model_opset(model) or 1
    for node in model.graph.node:
        attrs = {}
        for a in node.attribute:
            value = helper.get_attribute_value(a)
            if a.type == onnx.AttributeProto.TENSOR:
                _check_dtype(f"{node.op_type}.{a.name}", value.data_type, "attribute")
                key = f"attr:{len(arrays)}"
                arrays[key] = numpy_helper.to_array(value)
                value = {"$array": key}
            elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where="the MXNet backend (control flow subgraphs)")
            elif a.type in (onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS,
                            onnx.AttributeProto.TENSORS, onnx.AttributeProto.TYPE_PROTO,
                            onnx.AttributeProto.TYPE_PROTOS):
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where=f"the MXNet backend (attribute {a.name})")
            elif isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list):
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
            attrs[a.name] = value
        if node.op_type in ("Cast", "CastLike") and "to" in attrs:
            _check_dtype(node.name or node.op_type, attrs["to"], "Cast target of")
            attrs["to_dtype"] = _dtype_name(attrs["to"])
        for key in ("dtype", "output_datatype"):  # EyeLike, windows: the output type as a numpy name
            if key in attrs and isinstance(attrs[key], int):
                _check_dtype(node.name or node.op_type, attrs[key], "output type of")
                attrs["dtype_name"] = _dtype_name(attrs[key])
        nodes.append({"op": node.op_type, "domain": node.domain, "inputs": list(node.input),
                      "outputs": list(node.output), "attrs": attrs})
    plan = {"nodes": nodes, "opset": opset, "inputs": graph_input_names(model),
            "outputs": [o.name for o in model.graph.output]}
    return plan, arrays


_RELEASED: list[tuple[str, int]] = []  # (method, id) of plans and executors no longer referenced


def _drop_released(worker) -> None:
    while _RELEASED:
        method, ident = _RELEASED.pop()
        try:
            worker.call(method, {"id": ident}, timeout=30)
        except RemoteError:
            pass  # already gone (e.g. the worker restarted)


class MXNetRep(BackendRep):
    def __init__(self, worker, plan_id: int, input_names: list[str], output_names: list[str], model=None):
        self.worker, self.plan_id = worker, plan_id
        self.input_names, self.output_names = input_names, output_names
        self.model = model  # for the graph executor; None once the importer cannot take it
        self.executors: dict[tuple, int] = {}  # input-shape signature -> bound executor id

    def _executor(self, feeds: dict) -> int | None:
        signature = tuple((n, feeds[n].shape, str(feeds[n].dtype)) for n in self.input_names)
        if signature in self.executors or self.model is None:
            return self.executors.get(signature)
        from onnxhub.errors import OnnxHubError

        from .import_.importer import convert

        try:
            symbol, params, names = convert(self.model, {n: s for n, s, _ in signature})
            inputs = [[n, list(s), d] for n, s, d in signature]
            result, _ = self.worker.call("load_symbol", {"symbol": symbol, "inputs": inputs}, params, timeout=300)
        except (OnnxHubError, RemoteError):
            self.model = None  # outside the importer's table or MXNet's legacy operators: interpret
            return None
        self.executors[signature] = result["id"]
        return result["id"]

    def run(self, inputs, **kwargs):
        _drop_released(self.worker)
        feeds = {k: np.asarray(v) for k, v in bind_inputs(self.input_names, inputs).items()}
        fresh = len(self.executors)
        executor = self._executor(feeds) if len(feeds) == len(self.input_names) else None
        if executor is not None:
            _, out = self.worker.call("run_symbol", {"id": executor}, feeds, timeout=300)
            outputs = [out[f"out{i}"] for i in range(len(self.output_names))]
            if len(self.executors) == fresh:
                return outputs
            # First run of a new executor: it must agree with the operator interpreter, whose
            # semantics follow ONNX op by op; legacy MXNet operators differ at some corners.
            try:
                reference = self._interpret(feeds)
            except (UnsupportedOperator, RemoteError):
                return outputs  # nothing to check against: the executor is the only MXNet path here
            if all(a.shape == b.shape and a.dtype == b.dtype and
                   np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True) for a, b in zip(outputs, reference)):
                return outputs
            self.model, self.executors = None, {}
            return reference
        return self._interpret(feeds)

    def _interpret(self, feeds):
        try:
            _, out = self.worker.call("run_plan", {"id": self.plan_id}, feeds, timeout=300)
        except RemoteError as exc:
            if exc.type_name == "NotImplementedError":
                raise UnsupportedOperator(str(exc).split(": ", 1)[-1], where="the MXNet backend") from exc
            raise
        return [out[f"out{i}"] for i in range(len(self.output_names))]

    def __del__(self):
        # Never call the worker from here: garbage collection can run this in the middle of
        # another call on the same worker. The next call drops what was released.
        _RELEASED.append(("drop_plan", self.plan_id))
        _RELEASED.extend(("drop_symbol", executor) for executor in self.executors.values())


class MXNetBackend(HubBackend):
    name = "mxnet"
    devices = ("cpu",)

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        if not cls.supports_device(device):
            from onnxhub.errors import UsageError

            raise UsageError("backend 'mxnet' runs on cpu")
        check_versions(model, backend=cls.name, max_ir=onnx.IR_VERSION, max_opset=onnx.defs.onnx_opset_version())
        for imp in model.opset_import:
            if imp.domain not in ("", "ai.onnx"):
                raise UnsupportedModel(f"operator domain {imp.domain!r} has no MXNet implementation")
        plan, arrays = make_plan(model)
        worker = get_worker("mxnet")
        _drop_released(worker)
        result, _ = worker.call("load_plan", {"plan": plan}, arrays, timeout=120)
        if result["missing"]:
            raise UnsupportedOperator(", ".join(result["missing"]), opset=plan["opset"], where="the MXNet backend")
        return MXNetRep(worker, result["id"], plan["inputs"], plan["outputs"], model=model)
