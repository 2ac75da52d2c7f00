"""ONNX backend conformance: run ``onnx.backend.test`` cases against any backend."""
