"""MXNet files -> ONNX: the exporter and its operator table (``ops/``)."""
