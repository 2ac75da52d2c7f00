"""Registers the ``openvino`` backend. Imports nothing but onnxhub and the stdlib."""

from __future__ import annotations

import glob
import importlib.util
from pathlib import Path

from onnxhub import BackendSpec, hookimpl

# Device -> (the plugin library OpenVINO loads for it, device nodes the hardware shows up as).
# The wheel ships every plugin library, so a library alone does not mean the hardware is here.
_DEVICE_FILES = {
    "gpu": ("libopenvino_intel_gpu_plugin.so", "/dev/dri/renderD*"),
    "npu": ("libopenvino_intel_npu_plugin.so", "/dev/accel/accel*"),
}


def installed_devices() -> tuple[str, ...]:
    """Devices the installed OpenVINO and this machine offer, found by files, without importing it.

    CPU is always there; a GPU or NPU needs its plugin library and a device node. Whether
    OpenVINO really reports the device is asked at ``prepare`` (``supports_device``).
    """
    spec = importlib.util.find_spec("openvino")
    if spec is None or not spec.submodule_search_locations:
        return ("cpu",)
    libs = Path(next(iter(spec.submodule_search_locations))) / "libs"
    devices = ["cpu"]
    for device, (lib, nodes) in _DEVICE_FILES.items():
        if (libs / lib).exists() and glob.glob(nodes):
            devices.append(device)
    return tuple(devices)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="openvino",
            summary="OpenVINO: inference on CPU, Intel GPU and NPU (exact f32 by default)",
            target="onnxhub_openvino.backend:OpenVinoBackend",
            devices=installed_devices(),
            requires=("openvino",),
            priority=-10,  # never the default: `onnxhub run` takes onnxruntime, else reference (design.md)
        )
    )
