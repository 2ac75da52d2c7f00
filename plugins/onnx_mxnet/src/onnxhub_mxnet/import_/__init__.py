"""ONNX -> MXNet files: the importer and its operator table (``ops.py``)."""
