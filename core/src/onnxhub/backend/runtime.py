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
- subgraphs: a GRAPH attribute (If, Loop, Scan, SequenceMap) travels as a nested plan
  (``{"$graph": {"nodes", "inputs", "outputs", "initializers"}}``) that ``PlanStore``
  runs, resolving outer-scope names from the enclosing graphs; sequence and optional
  inputs/outputs travel as ``NAME#i`` arrays / names listed in the call's params;
- dtypes the runtime lacks (``RuntimeBackend.widen``): inputs, initializers and tensor
  attributes are widened here, casts to such a type carry its range (``narrow*``
  attributes) and outputs are cast back to their declared type; such models skip the
  fast path;
- errors: an ``onnxhub.errors`` exception raised runtime-side (``UnsupportedOperator``
  for an op the table lacks) arrives as the same local class with its fields.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import BackendRep

from ..errors import OnnxHubError, UnsupportedModel, UnsupportedOperator
from ..runtime.bridge import RemoteError, WorkerRestarted, get_worker
from .base import HubBackend, bind_inputs, graph_input_names, model_opset

_UNSUPPORTED_ATTRS = (onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS,
                      onnx.AttributeProto.TENSORS, onnx.AttributeProto.TYPE_PROTO, onnx.AttributeProto.TYPE_PROTOS)
_TYPE_ONLY = ("Optional", "SequenceEmpty")  # whose type attribute the host-side values do not need


def dtype_name(elem_type: int) -> str:
    """An ONNX element type as a numpy dtype name (``"float32"``), or ONNX's name when numpy has none."""
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return helper.tensor_dtype_to_string(elem_type)


# What the runtime-side op tables raise for inputs ONNX forbids (an index out of range, a tensor
# larger than memory): a fast path that ran anyway answered what ONNX has no answer for.
DATA_ERRORS = ("IndexError", "MemoryError")


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
        # Values the runtime holds in a wider type, or sequences/optionals: the interpreter only.
        self.fast = self.fast and not plan.get("widened") and not plan.get("structured")
        self.output_dtypes = plan.get("output_dtypes") or [None] * len(self.output_names)
        self.sequence_inputs = {vi.name for vi in model.graph.input if _is_sequence(vi.type)}
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
        feeds = {k: _feed(v, self.backend.widen, k in self.sequence_inputs)
                 for k, v in bind_inputs(self.input_names, inputs).items()}
        try:
            return self._run(feeds)
        except WorkerRestarted:  # the plan died with its worker process: load it into the new one
            self._load(*self.backend.make_plan(self.model))
            return self._run(feeds)

    def _run(self, feeds: dict) -> list:
        if any(not isinstance(v, np.ndarray) for v in feeds.values()):  # sequences, optionals
            return self._interpret(feeds)
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
        except RemoteError as exc:
            if exc.type_name in DATA_ERRORS:  # the inputs are ones ONNX forbids: the executor's answer is wrong
                raise
            return outputs  # nothing to check against: the fast path is the only way here
        except UnsupportedOperator:
            return outputs
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
        params, arrays = {"id": self.plan_id}, {}
        for name, value in feeds.items():  # a sequence travels as NAME#0, NAME#1...; an empty optional as a name
            if isinstance(value, list):
                params.setdefault("sequences", {})[name] = len(value)
                arrays.update((f"{name}#{i}", np.asarray(v)) for i, v in enumerate(value))
            elif value is None:
                params.setdefault("nones", []).append(name)
            else:
                arrays[name] = value
        result, out = self.call("run_plan", params, arrays)
        result = result if isinstance(result, dict) else {}
        for key, n in (result.get("sequences") or {}).items():
            out[key] = [out.pop(f"{key}#{i}") for i in range(n)]
        for key in result.get("nones") or ():
            out[key] = None
        return self._outputs(out)

    def _outputs(self, out: dict) -> list:
        return [_narrow(out[f"out{i}"], dtype)
                for i, dtype in zip(range(len(self.output_names)), self.output_dtypes)]

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
    # dtype name -> the wider dtype name the runtime computes it in: inputs, initializers and
    # attributes are widened here, outputs cast back to the declared type (see ``widen_note``).
    widen: dict = {}
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
        if cls.dtypes is not None and dtype not in cls.dtypes and dtype not in cls.widen:
            raise UnsupportedModel(f"{what} {name!r} has type {dtype}, which {cls.label} cannot hold")
        return dtype

    # Sequences and optionals of tensors are held by the runtime-side interpreter (Python lists, None).
    structured = True

    @classmethod
    def _check_value(cls, vi) -> str | None:
        """The declared numpy dtype of a graph input/output (None: a sequence or optional)."""
        t, plain = vi.type, True
        while not t.HasField("tensor_type"):
            inner = (t.sequence_type.elem_type if t.HasField("sequence_type") else
                     t.optional_type.elem_type if t.HasField("optional_type") else None)
            if inner is None or not cls.structured:
                raise UnsupportedModel(f"{vi.name!r} is not a tensor (sequences, maps and optionals have no "
                                       f"{cls.label} form)")
            t, plain = inner, False
        dtype = cls.check_dtype(vi.name, t.tensor_type.elem_type, "tensor")
        return dtype if plain else None

    @classmethod
    def _array(cls, tensor, name: str, what: str = "initializer") -> np.ndarray:
        """A tensor as the array the runtime gets (widened when the runtime lacks its type)."""
        dtype = cls.check_dtype(name, tensor.data_type, what)
        from ..import_.info import tensor_array

        array = tensor_array(tensor)
        return array.astype(cls.widen[dtype]) if dtype in cls.widen else array

    @classmethod
    def make_plan(cls, model: onnx.ModelProto) -> tuple[dict, dict]:
        """The graph as JSON plus arrays (initializers ``init:NAME``, tensor attributes ``attr:N``).

        A GRAPH attribute (If, Loop, Scan, SequenceMap bodies) becomes ``{"$graph": subplan}``:
        ``{"nodes", "inputs", "outputs", "initializers": {name: array key}}``; names a subgraph
        uses without defining are resolved from the enclosing graphs when it runs.
        """
        for vi in model.graph.input:
            cls._check_value(vi)
        output_dtypes = [cls._check_value(vi) for vi in model.graph.output]
        if model.graph.sparse_initializer:
            raise UnsupportedModel(f"sparse initializers have no {cls.label} form")
        arrays = {}
        for t in model.graph.initializer:
            arrays[f"init:{t.name}"] = cls._array(t, t.name)
        opset = model_opset(model) or 1
        types = {vi.name: vi.type.tensor_type.elem_type  # declared types: CastLike's target
                 for vi in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)
                 if vi.type.HasField("tensor_type")}
        types.update((t.name, t.data_type) for t in model.graph.initializer)
        nodes = [cls._plan_node(node, opset, arrays, types) for node in model.graph.node]
        plan = {"nodes": nodes, "opset": opset, "inputs": graph_input_names(model),
                "outputs": [o.name for o in model.graph.output], "output_dtypes": output_dtypes}
        declared = [vi.type.tensor_type.elem_type for vi in list(model.graph.input) + list(model.graph.output)
                    if vi.type.HasField("tensor_type")]
        if cls.widen and (any(dtype_name(e) in cls.widen for e in declared) or
                          any(dtype_name(t.data_type) in cls.widen for t in model.graph.initializer) or
                          '"narrow":' in json.dumps(nodes)):
            plan["widened"] = True
        if any(not vi.type.HasField("tensor_type") for vi in list(model.graph.input) + list(model.graph.output)):
            plan["structured"] = True
        return plan, arrays

    @classmethod
    def _plan_graph(cls, graph: onnx.GraphProto, opset: int, arrays: dict, types: dict | None = None) -> dict:
        if graph.sparse_initializer:
            raise UnsupportedModel(f"sparse initializers have no {cls.label} form")
        inits = {}
        for t in graph.initializer:
            key = f"sub:{len(arrays)}"
            arrays[key] = cls._array(t, t.name)
            inits[t.name] = key
        names = set(inits)
        return {"nodes": [cls._plan_node(node, opset, arrays, types) for node in graph.node],
                "inputs": [i.name for i in graph.input if i.name not in names],
                "outputs": [o.name for o in graph.output], "initializers": inits}

    @classmethod
    def _plan_node(cls, node: onnx.NodeProto, opset: int, arrays: dict, types: dict | None = None) -> dict:
        attrs = {}
        for a in node.attribute:
            value = helper.get_attribute_value(a)
            if a.type == onnx.AttributeProto.TENSOR:
                key = f"attr:{len(arrays)}"
                arrays[key] = cls._array(value, f"{node.op_type}.{a.name}", "attribute")
                value = {"$array": key}
            elif a.type == onnx.AttributeProto.GRAPH:
                value = {"$graph": cls._plan_graph(value, opset, arrays, types)}
            elif a.type == onnx.AttributeProto.GRAPHS:
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where=f"{cls.where} (attribute {a.name})")
            elif a.type == onnx.AttributeProto.TYPE_PROTO and node.op_type in _TYPE_ONLY:
                continue
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
            attrs["to_dtype"] = cls._held(node, attrs["to"], "Cast target of", attrs)
        if node.op_type == "CastLike" and len(node.input) > 1:
            elem_type = (types or {}).get(node.input[1])
            if elem_type and dtype_name(elem_type) in cls.widen:
                cls._held(node, elem_type, "CastLike target of", attrs)
        if node.op_type == "QuantizeLinear":  # the quantized type: output_dtype, else the zero point's
            elem_type = attrs.get("output_dtype") or (
                (types or {}).get(node.input[2]) if len(node.input) > 2 and node.input[2] else None) or \
                onnx.TensorProto.UINT8
            attrs["q_dtype"] = cls._held(node, elem_type, "output type of", attrs)
        for key in ("dtype", "output_datatype", "output_dtype"):  # EyeLike, windows, DequantizeLinear
            if key in attrs and isinstance(attrs[key], int) and attrs[key]:
                attrs["dtype_name"] = cls._held(node, attrs[key], "output type of", attrs)
        return {"op": node.op_type, "domain": node.domain, "name": node.name, "inputs": list(node.input),
                "outputs": list(node.output), "attrs": attrs}

    @classmethod
    def _held(cls, node, elem_type: int, what: str, attrs: dict) -> str:
        """The dtype the runtime computes a typed result in; a widened one notes the real type.

        ``narrow``: the declared dtype; ``narrow_min``/``narrow_max``: its range (integers
        wrap into it, floats with ``saturate`` clip to it).
        """
        dtype = cls.check_dtype(node.name or node.op_type, elem_type, what)
        if dtype not in cls.widen:
            return dtype
        attrs["narrow"] = dtype
        np_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
        import ml_dtypes

        if np.issubdtype(np_dtype, np.integer) or dtype in ("int4", "uint4", "int2", "uint2"):
            info = ml_dtypes.iinfo(np_dtype)
            attrs["narrow_min"], attrs["narrow_max"], attrs["narrow_int"] = int(info.min), int(info.max), True
        else:
            info = ml_dtypes.finfo(np_dtype)
            attrs["narrow_min"], attrs["narrow_max"], attrs["narrow_int"] = float(info.min), float(info.max), False
        return cls.widen[dtype]


def _is_sequence(t) -> bool:
    if t.HasField("optional_type"):
        t = t.optional_type.elem_type
    return t.HasField("sequence_type")


def _feed(value, widen: dict, sequence: bool = False):
    """An input as the runtime takes it: a sequence as a list of arrays, a narrow dtype widened."""
    if value is None:
        return None
    if sequence and isinstance(value, (list, tuple)):
        return [_feed(v, widen) for v in value]
    value = np.asarray(value)
    wide = widen.get(str(value.dtype))
    return value.astype(wide) if wide else value


def _narrow(value, dtype: str | None):
    """An output back in its declared dtype (the runtime may have computed it in a wider one)."""
    if dtype is None or not isinstance(value, np.ndarray) or str(value.dtype) == dtype:
        return value
    return value.astype(_np_dtype(dtype))


def _np_dtype(name: str):
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))


__all__ = ["RuntimeBackend", "RuntimeRep", "dtype_name"]
