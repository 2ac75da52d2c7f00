"""The plugin module: registers the backend and imports nothing but onnxhub."""

from onnxhub import BackendSpec, hookimpl


@hookimpl
def register_backends(register):
    register(BackendSpec(
        name="numpy-lite",
        summary="example third-party plugin: ~20 common ops in plain numpy",
        target="onnxhub_numpy_lite.backend:NumpyLiteBackend",
        devices=("cpu",),
        requires=("numpy", "onnx"),
        priority=-10,  # never the default: it is an example
    ))
