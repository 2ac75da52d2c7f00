"""ONNX -> MXNet files: the importer (``importer.py``) and its operator table (``ops/``)."""
