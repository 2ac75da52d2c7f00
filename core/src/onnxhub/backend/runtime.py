"""Backends that execute ONNX models in a runtime worker (a framework in its own venv).

``prepare`` turns the model into a *plan* (the graph as JSON plus arrays, see
``onnxhub.runtime_side.plans``) and loads it in the worker, whose handler keeps it in a
``PlanStore`` and runs it node by node with the framework's kernels::

    class MXNetBackend(RuntimeBackend):
        name, runtime = "mxnet", "mxnet"
        label, where = "MXNet 1.9", "the MXNet backend"
        dtypes = frozenset({"float32", "int64", ...})   # what the framework's arrays hold

What this layer owns so no backend repeats it:

- plan lifetime: a plan (and any executor) is a handle of one worker *process*.
  Ids are never reused there, every call names the process it is meant for, so a
  rep whose worker restarted loads its plan again instead of running whatever the
  new process holds under the same id;
- releases: a rep that is garbage collected only queues the release of its handles
  (``Worker.release``); the next call sends it, or drops it if that process is gone;
- an optional fast path (``RuntimeRep.fast_path``: e.g. a graph executor bound per
  input-shape signature), checked against the interpreter on its first run and
  abandoned for the interpreter when they disagree;
- errors: an ``onnxhub.errors`` exception raised runtime-side (``UnsupportedOperator``
  for an op the table lacks) arrives as the same local class with its fields.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.backend.base import BackendRep

from ..errors import OnnxHubError, UnsupportedModel, UnsupportedOperator
from ..runtime.bridge import RemoteError, WorkerRestarted, get_worker
from .base import HubBackend, bind_inputs, graph_input_names, model_opset

_UNSUPPORTED_ATTRS = (onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS,
                      onnx.AttributeProto.TENSORS, onnx.AttributeProto.TYPE_PROTO, onnx.AttributeProto.TYPE_PROTOS)


def dtype_name(elem_type: int) -> str:
    """An ONNX element type as a numpy dtype name (``"float32"``), or ONNX's name when numpy has none."""
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return helper.tensor_dtype_to_string(elem_type)


class RuntimeRep(BackendRep):
    """A model loaded in a runtime worker; ``run`` returns the outputs as a list in graph order.

    Subclasses may add a fast path by overriding ``fast_path``; the handler then also
    serves ``fast_run`` and ``fast_drop`` (``{"id": executor}``).
    """

    fast_run, fast_drop = "run_executor", "drop_executor"
    fast_rtol, fast_atol = 1e-4, 1e-5  # how closely a fast path must match the interpreter
    timeout = 300.0

    def __init__(self, backend: type[RuntimeBackend], model: onnx.ModelProto, plan: dict, arrays: dict):
        self.backend, self.model = backend, model
        self.input_names, self.output_names = plan["inputs"], plan["outputs"]
        self.worker = get_worker(backend.runtime)
        self.generation = self.plan_id = None
        self.executors: dict[tuple, int] = {}  # input signature -> executor id, in this generation
        self.fast = type(self).fast_path is not RuntimeRep.fast_path  # False once refused or wrong
        self._load(plan, arrays)

    # -- hooks -----------------------------------------------------------------------
    def fast_path(self, signature: tuple) -> int | None:
        """Make an executor for inputs of ``signature`` (``((name, shape, dtype), ...)``) in the worker.

        Return its id (use ``self.call`` so it belongs to this rep's worker process), or
        None, or raise an ``OnnxHubError``, when the model has no fast path: then this rep
        interprets from now on.
        """
        return None

    # -- running -----------------------------------------------------------------------
    def call(self, method: str, params: dict, arrays: dict | None = None, timeout: float | None = None):
        """``worker.call`` for this rep's worker process (``WorkerRestarted`` if it is gone)."""
        return self.worker.call(method, params, arrays, timeout or self.timeout, generation=self.generation)

    def run(self, inputs, **kwargs):
        feeds = {k: np.asarray(v) for k, v in bind_inputs(self.input_names, inputs).items()}
        try:
            return self._run(feeds)
        except WorkerRestarted:  # the plan died with its worker process: load it into the new one
            self._load(*self.backend.make_plan(self.model))
            return self._run(feeds)

    def _run(self, feeds: dict) -> list:
        if not self.fast or len(feeds) != len(self.input_names):
            return self._interpret(feeds)
        signature = tuple((n, feeds[n].shape, str(feeds[n].dtype)) for n in self.input_names)
        if signature in self.executors:
            return self._outputs(self.call(self.fast_run, {"id": self.executors[signature]}, feeds)[1])
        try:
            executor = self.fast_path(signature)
        except WorkerRestarted:
            raise
        except OnnxHubError:
            executor = None
        if executor is None:
            self.fast = False
            return self._interpret(feeds)
        self.executors[signature] = executor
        try:
            outputs = self._outputs(self.call(self.fast_run, {"id": executor}, feeds)[1])
        except (UnsupportedOperator, RemoteError):  # the executor cannot run these inputs after all
            self._abandon_fast_path()
            return self._interpret(feeds)
        # First run of a new executor: it must agree with the interpreter, whose semantics
        # follow ONNX op by op; a framework's graph executor can differ at some corners.
        try:
            reference = self._interpret(feeds)
        except (UnsupportedOperator, RemoteError):
            return outputs  # nothing to check against: the fast path is the only way here
        if all(a.shape == b.shape and a.dtype == b.dtype and
               np.allclose(a, b, rtol=self.fast_rtol, atol=self.fast_atol, equal_nan=True)
               for a, b in zip(outputs, reference)):
            return outputs
        self._abandon_fast_path()
        return reference

    def _abandon_fast_path(self) -> None:
        self.fast = False
        self._release_executors()

    def _interpret(self, feeds: dict) -> list:
        return self._outputs(self.call("run_plan", {"id": self.plan_id}, feeds)[1])

    def _outputs(self, out: dict) -> list:
        return [out[f"out{i}"] for i in range(len(self.output_names))]

    # -- lifetime ----------------------------------------------------------------------
    def _load(self, plan: dict, arrays: dict) -> None:
        for _ in range(3):  # another thread may restart the worker between ensure() and the call
            generation = self.worker.ensure()
            try:
                result, _ = self.worker.call("load_plan", {"plan": plan}, arrays, self.backend.load_timeout,
                                             generation=generation)
            except WorkerRestarted:
                continue
            self.generation, self.plan_id, self.executors = generation, result["id"], {}
            return
        raise WorkerRestarted(f"the {self.worker.name} worker kept restarting while the plan was loaded")

    def _release_executors(self) -> None:
        for executor in self.executors.values():
            self.worker.release(self.fast_drop, {"id": executor}, self.generation)
        self.executors = {}

    def __del__(self):
        # Never call the worker from here: garbage collection can run this in the middle of
        # another call on the same worker. The next call sends (or drops) the releases.
        if getattr(self, "plan_id", None) is not None:
            self.worker.release("drop_plan", {"id": self.plan_id}, self.generation)
            self._release_executors()


class RuntimeBackend(HubBackend):
    """A backend whose runtime-side handler serves ``load_plan`` / ``run_plan`` / ``drop_plan``.

    Class attributes: ``runtime`` (the runtime's name), ``label`` (the framework in
    messages, "MXNet 1.9"), ``where`` (for ``UnsupportedOperator``), ``dtypes`` (numpy
    dtype names its arrays hold; None: any), ``rep_class`` (a ``RuntimeRep`` subclass for
    a fast path) and the ``HubBackend`` window (by default: this onnx's IR and opset,
    the default domain only, no options).
    """

    runtime = "?"
    label = "this runtime"
    where = "the runtime backend"
    dtypes: frozenset[str] | None = None
    rep_class = RuntimeRep
    load_timeout = 120.0
    max_ir = onnx.IR_VERSION
    max_opset = onnx.defs.onnx_opset_version()
    domains = ("", "ai.onnx")
    options = ()

    @classmethod
    def prepare_rep(cls, model, device, **options):
        plan, arrays = cls.make_plan(model)
        return cls.rep_class(cls, model, plan, arrays)

    @classmethod
    def check_dtype(cls, name: str, elem_type: int, what: str) -> str:
        """The numpy name of ``elem_type``; ``UnsupportedModel`` when the runtime cannot hold it."""
        dtype = dtype_name(elem_type)
        if cls.dtypes is not None and dtype not in cls.dtypes:
            raise UnsupportedModel(f"{what} {name!r} has type {dtype}, which {cls.label} cannot hold")
        return dtype

    @classmethod
    def make_plan(cls, model: onnx.ModelProto) -> tuple[dict, dict]:
        """The graph as JSON plus arrays (initializers ``init:NAME``, tensor attributes ``attr:N``)."""
        for vi in list(model.graph.input) + list(model.graph.output):
            if not vi.type.HasField("tensor_type"):
                raise UnsupportedModel(f"{vi.name!r} is not a tensor (sequences, maps and optionals have no "
                                       f"{cls.label} form)")
            cls.check_dtype(vi.name, vi.type.tensor_type.elem_type, "tensor")
        if model.graph.sparse_initializer:
            raise UnsupportedModel(f"sparse initializers have no {cls.label} form")
        arrays = {}
        for t in model.graph.initializer:
            cls.check_dtype(t.name, t.data_type, "initializer")
            arrays[f"init:{t.name}"] = numpy_helper.to_array(t)
        opset = model_opset(model) or 1
        nodes = [cls._plan_node(node, opset, arrays) for node in model.graph.node]
        plan = {"nodes": nodes, "opset": opset, "inputs": graph_input_names(model),
                "outputs": [o.name for o in model.graph.output]}
        return plan, arrays

    @classmethod
    def _plan_node(cls, node: onnx.NodeProto, opset: int, arrays: dict) -> dict:
        attrs = {}
        for a in node.attribute:
            value = helper.get_attribute_value(a)
            if a.type == onnx.AttributeProto.TENSOR:
                cls.check_dtype(f"{node.op_type}.{a.name}", value.data_type, "attribute")
                key = f"attr:{len(arrays)}"
                arrays[key] = numpy_helper.to_array(value)
                value = {"$array": key}
            elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where=f"{cls.where} (control flow subgraphs)")
            elif a.type in _UNSUPPORTED_ATTRS:
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where=f"{cls.where} (attribute {a.name})")
            elif isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list):
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
            attrs[a.name] = value
        # Output types as numpy names, so the runtime side needs no ONNX type table.
        if node.op_type in ("Cast", "CastLike") and "to" in attrs:
            attrs["to_dtype"] = cls.check_dtype(node.name or node.op_type, attrs["to"], "Cast target of")
        for key in ("dtype", "output_datatype"):  # EyeLike, windows
            if key in attrs and isinstance(attrs[key], int):
                attrs["dtype_name"] = cls.check_dtype(node.name or node.op_type, attrs[key], "output type of")
        return {"op": node.op_type, "domain": node.domain, "name": node.name, "inputs": list(node.input),
                "outputs": list(node.output), "attrs": attrs}


__all__ = ["RuntimeBackend", "RuntimeRep", "dtype_name"]
