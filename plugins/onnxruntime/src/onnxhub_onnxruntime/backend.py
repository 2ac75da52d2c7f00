"""ONNX Runtime as an ``onnx.backend.base`` backend."""

from __future__ import annotations

import ctypes
import os
import re

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, normalize_device, pack_low_bits
from onnxhub.errors import UnsupportedModel, UnsupportedOperator, UsageError

# Device -> providers in order of preference; CPU is always the fallback.
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}
OPTIMIZATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
if hasattr(ort.GraphOptimizationLevel, "ORT_ENABLE_LAYOUT"):
    OPTIMIZATION_LEVELS["layout"] = ort.GraphOptimizationLevel.ORT_ENABLE_LAYOUT
EXECUTION_MODES = {"sequential": ort.ExecutionMode.ORT_SEQUENTIAL, "parallel": ort.ExecutionMode.ORT_PARALLEL}
OPTIONS = ("intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level", "execution_mode",
           "provider_options", "log_severity_level")

_IR_TOO_NEW = re.compile(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)")
_OPSET_TOO_NEW = re.compile(r"Opset (\d+) is under development.*?till opset (\d+)", re.S)
_NO_KERNEL = re.compile(r"Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'")
_NO_SCHEMA = re.compile(r"([\w.]+):(\w+)\((-?\d+)\) is not a registered function/op")
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")


def session_options(options: dict) -> tuple[ort.SessionOptions, dict]:
    """Split ``prepare`` options into ``SessionOptions`` and the main provider's options."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"unknown onnxruntime option(s) {unknown}; known: {', '.join(OPTIONS)}")
    so = ort.SessionOptions()
    # ONNX Runtime logs its errors to stderr itself; onnxhub reports them as its one error line, so
    # only fatal messages get through (errors too with --debug, or the log_severity_level option).
    so.log_severity_level = int(options.get("log_severity_level", 3 if os.environ.get("ONNXHUB_DEBUG") else 4))
    for key in ("intra_op_num_threads", "inter_op_num_threads"):
        if key in options:
            so.__setattr__(key, int(options[key]))
    level = options.get("graph_optimization_level", "all")
    if level not in OPTIMIZATION_LEVELS:
        raise UsageError(f"graph_optimization_level must be one of {', '.join(OPTIMIZATION_LEVELS)}, not {level!r}")
    so.graph_optimization_level = OPTIMIZATION_LEVELS[level]
    mode = options.get("execution_mode", "sequential")
    if mode not in EXECUTION_MODES:
        raise UsageError(f"execution_mode must be sequential or parallel, not {mode!r}")
    so.execution_mode = EXECUTION_MODES[mode]
    provider_options = options.get("provider_options", {})
    if not isinstance(provider_options, dict):
        raise UsageError("provider_options must be a dict, e.g. --option 'provider_options={\"device_id\": 0}'")
    return so, {str(k): str(v) for k, v in provider_options.items()}


def provider_list(device: str, provider_options: dict) -> list:
    """Providers for ``device``, its own first (with the user's options), CPU last."""
    main, *fallback = PROVIDERS[device]
    return [(main, provider_options), *fallback]


def translate_error(exc: Exception, where: str = "onnxruntime") -> Exception:
    """ONNX Runtime's load errors as onnxhub errors that name what went wrong."""
    text = str(exc)
    if m := _IR_TOO_NEW.search(text):
        return UnsupportedModel(f"model IR version {m[1]} is newer than onnxruntime {ort.__version__} accepts "
                                f"(max IR {m[2]})")
    if m := _OPSET_TOO_NEW.search(text):
        return UnsupportedModel(f"model opset {m[1]} is newer than onnxruntime {ort.__version__} accepts "
                                f"(max opset {m[2]})")
    if m := _NO_KERNEL.search(text):
        return UnsupportedOperator(m[1], opset=int(m[2]), node=m[3], where=f"onnxruntime {ort.__version__}")
    if m := _NO_SCHEMA.search(text):
        return UnsupportedOperator(m[2], domain=m[1], where=f"onnxruntime {ort.__version__}")
    first = _ORT_PREFIX.sub("", text.strip().splitlines()[0] if text.strip() else type(exc).__name__)
    # The model passed onnx.checker before it got here, so what is left is ORT's limit.
    return UnsupportedModel(f"onnxruntime {ort.__version__} cannot run this model: "
                            f"{first if len(first) < 300 else '...' + first[-300:]}")


# Element types ORT's kernels run but its Python binding cannot convert to or from
# numpy (ml_dtypes arrays): ORT type name -> (ONNX element type, ml_dtypes dtype, bits).
_RAW_BITS = {"BFLOAT16": 16, "FLOAT8E4M3FN": 8, "FLOAT8E4M3FNUZ": 8, "FLOAT8E5M2": 8, "FLOAT8E5M2FNUZ": 8,
             "FLOAT8E8M0": 8, "UINT4": 4, "INT4": 4, "FLOAT4E2M1": 4, "UINT2": 2, "INT2": 2}
RAW_TYPES = {}
for _name, _bits in _RAW_BITS.items():
    if hasattr(TensorProto, _name):  # older onnx lacks the newest types
        _elem = getattr(TensorProto, _name)
        RAW_TYPES[f"tensor({_name.lower()})"] = (_elem, np.dtype(helper.tensor_dtype_to_np_dtype(_elem)), _bits)


def to_ortvalue(array: np.ndarray, elem: int, bits: int) -> ort.OrtValue:
    """An ml_dtypes array as an ``OrtValue`` of ONNX type ``elem``, built from its raw bits.

    ml_dtypes keeps one element per byte (the value in the low ``bits``); ORT packs
    sub-byte types, low bits first (``Int4x2``...), so those are packed here. ORT
    takes the shape from the array and copies ``ceil(n * bits / 8)`` bytes from it.
    """
    if not array.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        array = array.copy(order="C")
    if bits >= 8:
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(array.view(np.uint16 if bits == 16 else np.uint8),
                                                               elem)
    packed = pack_low_bits(array, bits)
    buffer = np.zeros(array.shape, np.uint8)
    buffer.reshape(-1)[:packed.size] = packed
    return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(buffer, elem)


def from_ortvalue(value: ort.OrtValue, dtype: np.dtype, bits: int) -> np.ndarray:
    """A CPU ``OrtValue`` of a type the binding cannot convert, as an ml_dtypes array (a copy)."""
    shape = tuple(value.shape())
    nbytes = value.tensor_size_in_bytes()
    raw = (np.frombuffer((ctypes.c_uint8 * nbytes).from_address(value.data_ptr()), np.uint8).copy()
           if nbytes else np.zeros(0, np.uint8))
    if bits >= 8:
        return raw.view(dtype).reshape(shape)
    count = int(np.prod(shape, dtype=np.int64))
    mask = np.uint8((1 << bits) - 1)
    parts = [(raw >> np.uint8(bits * i)) & mask for i in range(8 // bits)]
    return np.stack(parts, axis=-1).reshape(-1)[:count].view(dtype).reshape(shape)


class OnnxRuntimeRep(BackendRep):
    def __init__(self, session: ort.InferenceSession):
        self.session = session
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        self._run = session.run
        self._single = self.input_names[0] if len(self.input_names) == 1 else None
        # Inputs and outputs whose type the binding refuses go through OrtValues built
        # from raw bits; a model without any keeps session.run as it is.
        self._raw_inputs = {i.name: RAW_TYPES[i.type] for i in session.get_inputs() if i.type in RAW_TYPES}
        self._raw_outputs = {o.name: RAW_TYPES[o.type] for o in session.get_outputs() if o.type in RAW_TYPES}
        if self._raw_inputs or self._raw_outputs:
            self._run = self._run_raw

    def _run_raw(self, output_names, feeds: dict) -> list:
        """``session.run`` for models with ml_dtypes inputs or outputs (bfloat16, float8, int4...)."""
        feeds = dict(feeds)
        for name, (elem, dtype, bits) in self._raw_inputs.items():
            value = feeds.get(name)
            if isinstance(value, np.ndarray) and value.dtype == dtype:
                feeds[name] = to_ortvalue(value, elem, bits)
        names = list(output_names or self.output_names)
        if not any(n in self._raw_outputs for n in names):
            return self.session.run(names, feeds)
        binding = self.session.io_binding()
        for name, value in feeds.items():
            if not isinstance(value, ort.OrtValue):
                value = ort.OrtValue.ortvalue_from_numpy(np.asarray(value))
            binding.bind_ortvalue_input(name, value)
        for name in names:
            binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(binding)
        outputs = []
        for name, value in zip(names, binding.get_outputs()):
            raw = self._raw_outputs.get(name)
            outputs.append(from_ortvalue(value, raw[1], raw[2]) if raw else value.numpy())
        return outputs

    def run(self, inputs, **kwargs):
        """Outputs as a list in graph-output order (as ``onnxruntime.backend`` returns them).

        This call sits in every inference loop, so a list of ndarrays takes a fast
        path that costs about what building the feed dict by hand would.
        """
        if type(inputs) is list and len(inputs) == len(self.input_names):
            if self._single is not None:
                if type(inputs[0]) is np.ndarray:
                    return self._run(None, {self._single: inputs[0]})
            elif all(type(v) is np.ndarray for v in inputs):
                return self._run(None, dict(zip(self.input_names, inputs)))
        return self._run(None, bind_inputs(self.input_names, inputs))


class OnnxRuntimeBackend(HubBackend):
    """IR version, opset and domains are ONNX Runtime's to judge (``translate_error``)."""

    name = "onnxruntime"
    devices = tuple(PROVIDERS)

    @classmethod
    def supports_device(cls, device) -> bool:
        providers = PROVIDERS.get(normalize_device(device))
        return bool(providers) and providers[0] in ort.get_available_providers()

    @classmethod
    def prepare_rep(cls, model, device, **options):
        so, provider_options = session_options(options)
        try:
            session = ort.InferenceSession(model.SerializeToString(), sess_options=so,
                                           providers=provider_list(device, provider_options))
        except Exception as exc:  # ORT raises its own pybind types; map them to ours
            raise translate_error(exc) from exc
        return OnnxRuntimeRep(session)
