"""Helpers shared by backends shaped like ``onnx.backend.base``.

``HubBackend`` adds to ONNX's ``Backend`` what every onnxhub backend needs: device
names in either case, inputs as a list or a dict, and the IR/opset gate that turns
a too-new model into ``UnsupportedModel`` instead of a confusing failure later.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from ..errors import UnsupportedModel, UsageError


def normalize_device(device) -> str:
    """``"CPU"``, ``"cpu"``, ``"cuda:0"`` -> ``"cpu"`` / ``"cuda"``."""
    return str(device or "cpu").split(":")[0].lower()


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    """Inputs a caller must feed: graph inputs that are not initializers."""
    inits = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def _as_array(value):
    # ONNX's test suite feeds numpy scalars for 0-d inputs; runtimes want 0-d arrays.
    return np.asarray(value) if isinstance(value, np.generic) else value


def bind_inputs(names: list[str], inputs) -> dict:
    """Turn a list (graph-input order), a dict, or a single array into ``{name: array}``."""
    if isinstance(inputs, dict):
        unknown = set(inputs) - set(names)
        if unknown:
            raise UsageError(f"unknown input(s) {sorted(unknown)}; the model takes {names}")
        return {k: _as_array(v) for k, v in inputs.items()}
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    if len(inputs) > len(names):
        raise UsageError(f"{len(inputs)} inputs given; the model takes {len(names)}: {names}")
    return {name: _as_array(v) for name, v in zip(names, inputs)}


def model_opset(model: onnx.ModelProto, domain: str = "") -> int | None:
    for imp in model.opset_import:
        if imp.domain in (domain, "ai.onnx" if domain == "" else domain):
            return imp.version
    return None


def check_versions(model: onnx.ModelProto, *, backend: str, max_ir: int, max_opset: int) -> None:
    """Raise ``UnsupportedModel`` naming both versions when the model is too new."""
    if model.ir_version > max_ir:
        raise UnsupportedModel(
            f"model IR version {model.ir_version} is newer than backend {backend!r} accepts (max IR {max_ir})"
        )
    opset = model_opset(model)
    if opset is not None and opset > max_opset:
        raise UnsupportedModel(
            f"model opset {opset} is newer than backend {backend!r} accepts (max opset {max_opset})"
        )


class HubBackend(Backend):
    """``onnx.backend.base.Backend`` with onnxhub's conventions; subclass per backend."""

    name = "?"
    devices: tuple[str, ...] = ("cpu",)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return normalize_device(device) in cls.devices

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **options):
        return cls.prepare(model, device, **options).run(inputs)


__all__ = ["HubBackend", "BackendRep", "bind_inputs", "check_versions", "graph_input_names", "normalize_device"]
