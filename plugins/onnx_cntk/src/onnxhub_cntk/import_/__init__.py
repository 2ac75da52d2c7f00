"""ONNX -> CNTK 2.7 ``.model``, composed and saved by CNTK itself in the cntk runtime."""
