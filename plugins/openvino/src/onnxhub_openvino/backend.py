"""OpenVINO as an ``onnx.backend.base`` backend."""

from __future__ import annotations

import functools
import re

import numpy as np
import openvino as ov
from onnx import TensorProto, helper, numpy_helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, graph_input_names, model_opset, normalize_device, pack_low_bits
from onnxhub.errors import UnsupportedModel, UnsupportedOperator, UsageError

from .expand import expand_functions

# onnxhub device -> OpenVINO device ("GPU" also stands for "GPU.0", "GPU.1", ...).
DEVICES = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU"}
PRECISIONS = ("f32", "f16", "bf16")
PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
OPTIONS = ("precision", "num_threads", "performance_hint", "config")
# Compiled models kept per rep, one per input-shape signature; the oldest goes first.
MAX_COMPILED = 16

_NO_RULE = re.compile(r"No conversion rule found for operations: (.+)")
_NODE = re.compile(r"ONNX node '<Node\((\w+)\): ([^>]*)>'")
_LOG = re.compile(r"^(While validating|Check '|Exception from|-- )")
_CHECK = re.compile(r"Check '(.+?)' failed")
# OpenVINO's messages open with source locations and check headers; the line after them says what failed.
_NOISE = re.compile(r"^(Exception from \S+:\d+:|Check '.*' failed at \S+:\d+:|FrontEnd API failed with \w+:|"
                    r"Model wasn't fully converted\.|Summary:|To facilitate the conversion.*)$")
VERSION = ov.get_version().split("-")[0]


@functools.cache
def core() -> ov.Core:
    """One ``ov.Core`` per process: it loads the device plugins, which is slow the first time."""
    return ov.Core()


def available_devices() -> list[str]:
    """The onnxhub names of the devices OpenVINO reports here (``GPU.0`` counts as ``gpu``)."""
    found = {d.split(".")[0] for d in core().available_devices}
    return [name for name, ov_name in DEVICES.items() if ov_name in found]


def compile_config(options: dict) -> dict:
    """The ``compile_model`` properties for ``prepare`` options.

    Precision is exact by default: OpenVINO otherwise computes f32 models in bf16 on CPUs
    with AMX or AVX512-BF16 and in f16 on GPUs, so outputs would depend on the machine.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"unknown openvino option(s) {unknown}; known: {', '.join(OPTIONS)}")
    precision = options.get("precision", "f32")
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    config = {"INFERENCE_PRECISION_HINT": precision}
    if "num_threads" in options:
        threads = options["num_threads"]
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise UsageError(f"num_threads must be an int >= 0 (0: OpenVINO's default), not {threads!r}")
        config["INFERENCE_NUM_THREADS"] = threads
    if "performance_hint" in options:
        hint = str(options["performance_hint"]).upper()
        if hint not in PERFORMANCE_HINTS:
            raise UsageError(f"performance_hint must be one of {', '.join(PERFORMANCE_HINTS)}, "
                             f"not {options['performance_hint']!r}")
        config["PERFORMANCE_HINT"] = hint
    extra = options.get("config", {})
    if not isinstance(extra, dict):
        raise UsageError("config must be a dict of OpenVINO properties, e.g. "
                         "--option 'config={\"NUM_STREAMS\": 2}'")
    config.update({str(k): v for k, v in extra.items()})
    return config


def first_line(text: str) -> str:
    """The line of an OpenVINO message that says what went wrong, without its source locations."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    line = lines[0] if lines else text.strip() or "no message"
    return line if len(line) < 300 else line[:300] + "..."


def missing_ops(text: str) -> list[str]:
    """The operators an OpenVINO conversion error says it has no rule for ("Foo-17, com.acme.Bar-1")."""
    m = _NO_RULE.search(text)
    return sorted({re.sub(r"-\d+$", "", op.strip()) for op in m[1].split(",")}) if m else []


def node_reason(text: str) -> str:
    """Why OpenVINO failed on a node: the last plain line of its log, else the check that failed."""
    lines = [ln.strip() for ln in text.split("Summary:")[0].splitlines() if ln.strip()]
    plain = [ln for ln in lines if not _LOG.match(ln)]
    if plain:
        line = plain[-1]
    elif m := _CHECK.search(lines[0] if lines else ""):
        line = f"check failed: {m[1]}"
    else:
        line = "conversion failed"
    return line if len(line) < 300 else line[:300] + "..."


def failing_ops(text: str) -> set[str]:
    """Op types (no domain) OpenVINO could not convert: those it has no rule for, or the node it failed on."""
    ops = {op.rsplit(".", 1)[-1] for op in missing_ops(text)}
    if m := _NODE.search(text):
        ops.add(m[1])
    return ops


def translate_error(exc: Exception, opset: int | None) -> Exception:
    """OpenVINO's conversion and compile errors as onnxhub errors of one line."""
    text = str(exc)
    where = f"OpenVINO {VERSION}"
    if ops := missing_ops(text):
        return UnsupportedOperator(", ".join(ops), opset=opset, where=where)
    if m := _NODE.search(text):
        return UnsupportedOperator(f"{m[1]} ({node_reason(text[m.start():])})", opset=opset, node=m[2] or None,
                                   where=where)
    return UnsupportedModel(f"{where} cannot run this model: {first_line(text)}")


def output_dtypes(model) -> list:
    """The numpy dtype ONNX declares for each graph output (``None``: not declared)."""
    dtypes = []
    for out in model.graph.output:
        elem = out.type.tensor_type.elem_type if out.type.HasField("tensor_type") else 0
        if elem == TensorProto.STRING:
            dtypes.append(np.dtype(object))
        elif elem:
            dtypes.append(np.dtype(helper.tensor_dtype_to_np_dtype(elem)))
        else:
            dtypes.append(None)
    return dtypes


# Element types numpy holds only through ml_dtypes, whose arrays OpenVINO's Python binding
# misreads (bf16 as f16, 4-bit types unpacked): OpenVINO type -> bits per element. Such
# inputs go in as tensors built from their raw bits, such outputs are read back from theirs.
_RAW_BITS = {"bf16": 16, "f8e4m3": 8, "f8e5m2": 8, "f8e8m0": 8, "i4": 4, "u4": 4, "f4e2m1": 4}
RAW_TYPES = {getattr(ov.Type, name): bits for name, bits in _RAW_BITS.items() if hasattr(ov.Type, name)}


def to_tensor(array: np.ndarray, ov_type: ov.Type, bits: int) -> ov.Tensor:
    """An ml_dtypes array as an OpenVINO tensor of ``ov_type``, from its raw bits.

    ml_dtypes keeps one element per byte; OpenVINO packs sub-byte types, low bits first.
    """
    array = np.ascontiguousarray(array) if array.ndim else array.reshape(())
    if bits >= 8:
        return ov.Tensor(array.view(np.uint16 if bits == 16 else np.uint8), list(array.shape), ov_type)
    return ov.Tensor(pack_low_bits(array, bits), list(array.shape), ov_type)


def from_raw(data: np.ndarray, shape, dtype: np.dtype, bits: int) -> np.ndarray:
    """An output of a raw type (``data`` holds its bits, packed for sub-byte types) as ``dtype``."""
    raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if bits >= 8:
        return raw.view(dtype).reshape(shape).copy()
    count = int(np.prod(shape, dtype=np.int64))
    mask = np.uint8((1 << bits) - 1)
    parts = [(raw >> np.uint8(bits * i)) & mask for i in range(8 // bits)]
    return np.stack(parts, axis=-1).reshape(-1)[:count].view(dtype).reshape(shape)


def exact_f64(model: ov.Model) -> ov.Model:
    """``model`` with its f64 inputs and outputs exchanged as f32.

    OpenVINO's devices compute f64 as f32, and the conversion at the model's edge
    saturates (inf becomes 3.4e38). Done by numpy on this side instead, infinities,
    NaNs and overflow follow IEEE; the arithmetic was f32 either way.
    """
    f64 = ov.Type.f64
    ins = [i for i, p in enumerate(model.inputs) if p.get_element_type() == f64]
    outs = [i for i, o in enumerate(model.outputs) if o.get_element_type() == f64]
    if not ins and not outs:
        return model
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(model)
    for i in ins:
        ppp.input(i).tensor().set_element_type(ov.Type.f32)
    for i in outs:
        ppp.output(i).tensor().set_element_type(ov.Type.f32)
    return ppp.build()


def _np_type(output) -> np.dtype | None:
    try:
        return np.dtype(output.get_element_type().to_dtype())
    except Exception:  # a type numpy lacks: the output is cast as declared
        return None


class Compiled:
    """One compiled model with its infer request, and what its inputs and outputs need on this side."""

    def __init__(self, compiled: ov.CompiledModel, dtypes: list, feed: list[int] | None):
        self.model, self.feed = compiled, feed  # feed: the inputs it takes, by graph-input index (None: all)
        self.request = compiled.create_infer_request()
        self.raw_inputs = [(i, p.get_element_type(), RAW_TYPES[p.get_element_type()])
                           for i, p in enumerate(compiled.inputs) if p.get_element_type() in RAW_TYPES]
        self.raw_outputs = [(i, d, RAW_TYPES[o.get_element_type()])
                            for i, (o, d) in enumerate(zip(compiled.outputs, dtypes))
                            if o.get_element_type() in RAW_TYPES and d is not None]
        raw = {i for i, _, _ in self.raw_outputs}
        # OpenVINO may hand back another type than ONNX declares (f32 for f64, str_ for
        # strings); only those outputs are cast, so the usual model returns its arrays as they are.
        self.casts = [(i, d) for i, (out, d) in enumerate(zip(compiled.outputs, dtypes))
                      if i not in raw and d is not None and _np_type(out) != d]
        self.plain = not (self.raw_inputs or self.raw_outputs or self.casts)

    def infer(self, arrays: list) -> list:
        if self.plain:
            return list(self.request.infer(arrays).to_tuple())
        arrays = list(arrays)
        for i, ov_type, bits in self.raw_inputs:
            arrays[i] = to_tensor(np.asarray(arrays[i]), ov_type, bits)
        outputs = list(self.request.infer(arrays).to_tuple())
        for i, dtype, bits in self.raw_outputs:
            outputs[i] = from_raw(outputs[i], tuple(self.request.get_output_tensor(i).shape), dtype, bits)
        for i, dtype in self.casts:
            outputs[i] = outputs[i].astype(dtype)
        return outputs


# Inputs that decide shapes or ranks (op -> input positions): OpenVINO's CPU plugin needs
# those known, so where a graph input feeds one, the model is compiled with its value as
# a constant (per value; models normally hold these as initializers anyway).
SHAPE_ARGUMENTS = {
    "Reshape": (1,), "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,), "Unsqueeze": (1,), "Squeeze": (1,),
    "Slice": (1, 2, 3, 4), "Pad": (1, 3), "Split": (1,), "TopK": (1,), "OneHot": (1,), "Range": (0, 1, 2),
    "Resize": (2, 3), "Upsample": (1,), "CenterCropPad": (1,), "Col2Im": (1, 2), "MaxUnpool": (2,),
    "DFT": (1, 2), "STFT": (1, 3), "Dropout": (1, 2), "SplitToSequence": (1,),
    **{op: (1,) for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")},
}


def shape_argument_inputs(model) -> list[str]:
    """Graph inputs that top-level nodes take as shape arguments (``SHAPE_ARGUMENTS``)."""
    names = set(graph_input_names(model))
    found = {name for node in model.graph.node for k in SHAPE_ARGUMENTS.get(node.op_type, ())
             if k < len(node.input) and (name := node.input[k]) in names}
    return [n for n in graph_input_names(model) if n in found]


def read_model(model, opset: int | None) -> ov.Model:
    """``Core().read_model``; ops OpenVINO lacks but ONNX defines as functions are expanded and read again."""
    try:
        return core().read_model(model.SerializeToString())
    except Exception as exc:  # the ONNX frontend raises RuntimeError / OpConversionFailure
        ops = failing_ops(str(exc))
        expanded = expand_functions(model, ops) if ops else None
        if expanded is None:
            raise translate_error(exc, opset) from exc
    try:
        return core().read_model(expanded.SerializeToString())
    except Exception as exc:
        raise translate_error(exc, opset) from exc


def freeze(model, values: dict):
    """``model`` with the graph inputs in ``values`` turned into initializers of those values."""
    out = type(model)()
    out.CopyFrom(model)
    keep = [i for i in out.graph.input if i.name not in values]
    del out.graph.input[:]
    out.graph.input.extend(keep)
    out.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), name) for name, v in values.items())
    return out


class OpenVinoRep(BackendRep):
    """A model read once, compiled per input-shape signature (and shape-argument values) on first use."""

    def __init__(self, model, device: str, config: dict, opset: int | None):
        self.device, self.config, self.opset = device, config, opset
        self.input_names = graph_input_names(model)
        self.dtypes = output_dtypes(model)
        self.compiles = 0  # compile_model calls, for tests and benchmarks
        self._cache: dict = {}
        self._index = {n: i for i, n in enumerate(self.input_names)}
        frozen = shape_argument_inputs(model)
        self._frozen = [self._index[n] for n in frozen]
        self._onnx = model if frozen else None  # read again per shape-argument values
        self.model = None if frozen else read_model(model, opset)
        self._static = self.model is not None and all(p.get_partial_shape().is_static for p in self.model.inputs)
        if self._static:  # fixed shapes: compile now, as onnxruntime builds its session in prepare
            self._cache[None] = self._compile(self.model)

    def _compile(self, model: ov.Model) -> Compiled:
        # OpenVINO drops graph inputs nothing reads (and frozen ones are constants): each
        # compiled model feeds its own parameters, found by name.
        feed = [self._index[p.get_any_name()] for p in model.inputs]
        try:
            compiled = core().compile_model(exact_f64(model), self.device, self.config)
        except Exception as exc:  # pybind RuntimeError with a multi-line message
            raise translate_error(exc, self.opset) from exc
        self.compiles += 1
        return Compiled(compiled, self.dtypes, None if feed == list(range(len(self.input_names))) else feed)

    def compiled_for(self, arrays: list) -> Compiled:
        """The compiled model for these inputs (all of them, in graph-input order): each signature compiles once."""
        if self._static:
            return self._cache[None]
        key = tuple(a.shape for a in arrays)
        if self._frozen:
            key += tuple((arrays[i].dtype.str, arrays[i].tobytes()) for i in self._frozen)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= MAX_COMPILED:
                del self._cache[next(iter(self._cache))]
            if self._frozen:
                model = read_model(freeze(self._onnx, {self.input_names[i]: arrays[i] for i in self._frozen}),
                                   self.opset)
            else:
                model = self.model.clone()
            try:  # a concrete shape lets OpenVINO fold shapes and pick static kernels
                model.reshape({p: ov.PartialShape(list(arrays[self._index[p.get_any_name()]].shape))
                               for p in model.inputs})
            except Exception:  # a graph whose shapes cannot be fixed runs dynamic
                pass
            found = self._cache[key] = self._compile(model)
        return found

    def run(self, inputs, **kwargs):
        """Outputs as a list in graph-output order. A list of ndarrays takes the short path."""
        if type(inputs) is list and len(inputs) == len(self.input_names) and \
                all(type(v) is np.ndarray for v in inputs):
            arrays = inputs
        else:
            feeds = bind_inputs(self.input_names, inputs)
            missing = [n for n in self.input_names if n not in feeds]
            if missing:
                raise UsageError(f"missing input(s) {missing}; the model takes {self.input_names}")
            arrays = [np.asarray(feeds[n]) for n in self.input_names]
        compiled = self.compiled_for(arrays)
        try:
            return compiled.infer(arrays if compiled.feed is None else [arrays[i] for i in compiled.feed])
        except Exception as exc:  # OpenVINO's run-time checks: one line, not its source locations
            raise RuntimeError(f"OpenVINO {VERSION}: {first_line(str(exc))}") from exc


class OpenVinoBackend(HubBackend):
    """Opsets, IR versions and operators are OpenVINO's ONNX frontend's to judge (``translate_error``)."""

    name = "openvino"
    devices = tuple(DEVICES)

    @classmethod
    def supports_device(cls, device) -> bool:
        return normalize_device(device) in available_devices()

    @classmethod
    def prepare_rep(cls, model, device, **options):
        config = compile_config(options)
        return OpenVinoRep(model, DEVICES[device], config, model_opset(model))
