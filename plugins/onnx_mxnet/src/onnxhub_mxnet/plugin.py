"""Registers the MXNet exporter and runtime. Imports nothing but onnxhub."""

from onnxhub import BackendSpec, ExporterSpec, ImporterSpec, RuntimeSpec, hookimpl


@hookimpl
def register_importers(register):
    register(ImporterSpec(
        name="mxnet",
        summary="ONNX -> MXNet symbol JSON + .params that plain MXNet 1.9.1 loads (written in pure Python)",
        target="onnxhub_mxnet.import_.importer:IMPORTER",
        requires=("onnx", "numpy"),
    ))


@hookimpl
def register_backends(register):
    register(BackendSpec(
        name="mxnet",
        summary="real MXNet 1.9.1 kernels (mxnet.np/npx) in the isolated mxnet runtime",
        target="onnxhub_mxnet.backend:MXNetBackend",
        devices=("cpu",),
        runtime="mxnet",
        requires=("onnx", "numpy"),
        priority=-20,  # a verification backend, never the default
    ))


@hookimpl
def register_exporters(register):
    register(ExporterSpec(
        name="mxnet",
        summary="MXNet symbol JSON + .params -> ONNX, in pure Python (MXNet not needed)",
        target="onnxhub_mxnet.export.exporter:EXPORTER",
        patterns=("*-symbol.json", "*.params"),
        requires=("onnx", "numpy"),
    ))


@hookimpl
def register_runtimes(register):
    register(RuntimeSpec(
        name="mxnet",
        summary="Apache MXNet 1.9.1 (CPU) with numpy<2, for ground truth and the MXNet backend",
        # numpy 1.23.5 still has the aliases (numpy.bool, ...) MXNet 1.9.1 imports, and has
        # wheels for CPython 3.8-3.11, so no alias fix-up is needed on any of them.
        python=">=3.8,<3.12",
        requirements=("mxnet==1.9.1", "numpy==1.23.5", "onnx==1.14.1", "protobuf==3.20.3"),
        system_libs=(("libgomp.so.1", "apt-get install libgomp1"),
                     ("libquadmath.so.0", "apt-get install libquadmath0")),
        handler="onnxhub_mxnet.runtime_side.handler",
        # MXNet ran fastest with one OpenMP thread on these 2-core machines (RUNTIMES.md).
        env=(("OMP_NUM_THREADS", "1"),),
        download="about 85 MB download (the mxnet wheel is 49 MB), about 360 MB installed; 1-2 minutes",
    ))
