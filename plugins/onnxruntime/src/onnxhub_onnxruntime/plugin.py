"""Registers the ``onnxruntime`` backend. Imports nothing but onnxhub and the stdlib."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from onnxhub import BackendSpec, hookimpl

# Device -> the provider library a build must carry to offer it.
_PROVIDER_LIBS = {"cuda": "libonnxruntime_providers_cuda.so", "tensorrt": "libonnxruntime_providers_tensorrt.so"}


def installed_devices() -> tuple[str, ...]:
    """Devices of the installed ONNX Runtime build, found by its files, without importing it."""
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return ("cpu",)
    capi = Path(next(iter(spec.submodule_search_locations))) / "capi"
    devices = ["cpu"]
    for device, lib in _PROVIDER_LIBS.items():
        if (capi / lib).exists() or (capi / lib.replace(".so", ".dll")).exists():
            devices.append(device)
    return tuple(devices)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="onnxruntime",
            summary="ONNX Runtime: fast inference on CPU, CUDA and TensorRT execution providers",
            target="onnxhub_onnxruntime.backend:OnnxRuntimeBackend",
            devices=installed_devices(),
            requires=("onnxruntime",),
            priority=100,  # the default backend of `onnxhub run` when installed
        )
    )
