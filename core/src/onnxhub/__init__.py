"""onnxhub: one hub for ONNX importers, exporters and execution backends.

Importing this package is cheap: the API functions import onnx and numpy only
when called, so plugins can ``from onnxhub import hookimpl, BackendSpec`` freely.
"""

import pluggy

from .errors import (
    CheckFailed,
    InvalidModel,
    OnnxHubError,
    PluginError,
    RuntimeNotInstalled,
    UnsupportedModel,
    UnsupportedOperator,
    WorkerCrashed,
)
from .specs import BackendSpec, ExporterSpec, ImporterSpec, RuntimeSpec

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("onnxhub")

_API = {
    "backends",
    "importers",
    "exporters",
    "runtimes",
    "plugins",
    "get_backend",
    "run",
    "import_model",
    "export_model",
    "export_to_file",
    "convert",
    "load_model",
}


def __getattr__(name):
    # The Python API lives in onnxhub.api; loading it lazily keeps `import onnxhub` light.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'onnxhub' has no attribute {name!r}")


def __dir__():
    # The lazy API names are attributes too (tab completion, help()); listing them imports nothing.
    return sorted(set(globals()) | _API)


__all__ = [
    "BackendSpec",
    "CheckFailed",
    "ExporterSpec",
    "ImporterSpec",
    "InvalidModel",
    "OnnxHubError",
    "PluginError",
    "RuntimeNotInstalled",
    "RuntimeSpec",
    "UnsupportedModel",
    "UnsupportedOperator",
    "WorkerCrashed",
    "hookimpl",
    *sorted(_API),
]
