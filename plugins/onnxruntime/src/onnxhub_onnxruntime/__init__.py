"""onnxhub plugin: ONNX Runtime as an execution backend."""
