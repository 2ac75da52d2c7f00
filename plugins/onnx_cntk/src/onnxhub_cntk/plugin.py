"""Registers the CNTK exporter, importer, backend and runtime. Imports nothing but onnxhub."""

from onnxhub import BackendSpec, ExporterSpec, ImporterSpec, RuntimeSpec, hookimpl


@hookimpl
def register_importers(register):
    register(ImporterSpec(
        name="cntk",
        summary="ONNX -> CNTK 2.7 .model (batch axis dynamic) built by real CNTK: needs the cntk runtime",
        target="onnxhub_cntk.import_.importer:IMPORTER",
        runtime="cntk",  # the graph is composed and saved by CNTK itself, through the worker bridge
        requires=("onnx", "numpy"),
    ))


@hookimpl
def register_backends(register):
    register(BackendSpec(
        name="cntk",
        summary="real CNTK 2.7 kernels (cntk.ops) in the isolated cntk runtime",
        target="onnxhub_cntk.backend:CNTKBackend",
        devices=("cpu",),
        runtime="cntk",
        requires=("onnx", "numpy"),
        priority=-20,  # a verification backend, never the default
    ))


@hookimpl
def register_exporters(register):
    register(ExporterSpec(
        name="cntk",
        summary="CNTK 2.7 .model (Function.save) -> ONNX, in pure Python (CNTK not needed)",
        target="onnxhub_cntk.export.exporter:EXPORTER",
        patterns=("*.model",),
        requires=("onnx", "numpy"),  # protobuf comes with onnx
    ))


@hookimpl
def register_runtimes(register):
    register(RuntimeSpec(
        name="cntk",
        summary="Microsoft CNTK 2.7 (CPU) on CPython 3.6, for ground truth, the CNTK backend and importer",
        # CNTK 2.7 has wheels only for CPython 2.7/3.5/3.6; numpy/scipy are the newest with 3.6 wheels.
        # envs.py caps pip at "pip<22" for 3.6 before installing (pip 18 cannot read newer wheels).
        python=">=3.6,<3.7",
        requirements=("cntk==2.7.post2", "numpy==1.19.5", "scipy==1.5.4"),
        system_libs=(("libmpi.so.40", "apt-get install libopenmpi3"),
                     ("libmpi_cxx.so.40", "apt-get install libopenmpi3")),
        fixups="onnxhub_cntk.runtime_fixups:link_openmpi",
        handler="onnxhub_cntk.runtime_side.handler",
        # MKL (CNTK's GEMM) picks its code path by CPU; on AVX-512 Xeons its columns rounded
        # differently from here and the onnx suite's ill-conditioned light models (logits near
        # 1e19, every class equal) came out one-hot. COMPATIBLE is MKL's one path on every CPU.
        env=(("MKL_CBWR", "COMPATIBLE"),),
        download="about 120 MB download (the cntk wheel is 75 MB), about 440 MB installed; 1-2 minutes",
    ))
