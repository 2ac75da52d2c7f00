"""ONNX Runtime as an ``onnx.backend.base`` backend."""

from __future__ import annotations

import re

import numpy as np
import onnxruntime as ort
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, normalize_device
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
    so.log_severity_level = int(options.get("log_severity_level", 3))
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


class OnnxRuntimeRep(BackendRep):
    def __init__(self, session: ort.InferenceSession):
        self.session = session
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        self._run = session.run
        self._single = self.input_names[0] if len(self.input_names) == 1 else None

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
