"""CNTK `.model` -> ONNX."""
