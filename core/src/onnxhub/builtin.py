"""The core's own plugin: the reference backend, registered like any third party's."""

from . import hookimpl
from .specs import BackendSpec


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="reference",
            summary="onnx.reference.ReferenceEvaluator: pure numpy, every standard op, slow",
            target="onnxhub.backend.reference:ReferenceBackend",
            devices=("cpu",),
            requires=("onnx", "numpy"),
            priority=0,
        )
    )
