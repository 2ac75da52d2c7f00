"""onnxhub plugin for Apache MXNet: export symbol/params files to ONNX without MXNet."""
