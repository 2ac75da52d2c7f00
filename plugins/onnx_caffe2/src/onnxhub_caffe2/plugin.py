"""Registers the Caffe2 importer, backend, exporter and runtime. Imports nothing but onnxhub."""

from onnxhub import BackendSpec, ExporterSpec, ImporterSpec, RuntimeSpec, hookimpl


@hookimpl
def register_importers(register):
    register(ImporterSpec(
        name="caffe2",
        summary="ONNX -> Caffe2 init_net.pb + predict_net.pb (+ value_info.json) that plain Caffe2 runs (pure Python)",
        target="onnxhub_caffe2.import_.importer:IMPORTER",
        requires=("onnx", "numpy"),
    ))


@hookimpl
def register_backends(register):
    register(BackendSpec(
        name="caffe2",
        summary="real Caffe2 operators (torch 1.10.2) in the isolated caffe2 runtime",
        target="onnxhub_caffe2.backend:Caffe2Backend",
        devices=("cpu",),
        runtime="caffe2",
        requires=("onnx", "numpy"),
        priority=-20,  # a verification backend, never the default
    ))


@hookimpl
def register_exporters(register):
    register(ExporterSpec(
        name="caffe2",
        summary="Caffe2 NetDefs (predict_net + init_net, .pb or .pbtxt) -> ONNX, in pure Python (Caffe2 not needed)",
        target="onnxhub_caffe2.export.exporter:EXPORTER",
        patterns=("*predict_net.pb", "*init_net.pb", "*.pbtxt"),
        requires=("onnx", "numpy"),  # protobuf comes with onnx
    ))


@hookimpl
def register_runtimes(register):
    register(RuntimeSpec(
        name="caffe2",
        summary="Caffe2 inside torch 1.10.2 (CPU use of the CUDA wheel) on CPython 3.8/3.9",
        # torch 1.10.2 is the last wheel with the compiled Caffe2 extension (CPython 3.8/3.9 only).
        # The wheel does not declare protobuf/future/six; protobuf >= 4 breaks caffe2_pb2.
        python=">=3.8,<3.10",
        requirements=("torch==1.10.2", "numpy==1.23.5", "protobuf==3.20.3", "future==1.0.0", "six==1.16.0"),
        handler="onnxhub_caffe2.runtime_side.handler",
        download="about 900 MB download (torch 1.10.2's CUDA wheel is 882 MB), about 2 GB installed; "
                 "2-5 minutes",
    ))
