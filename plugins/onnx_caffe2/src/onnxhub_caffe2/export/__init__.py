"""Caffe2 NetDefs -> ONNX without Caffe2: ``exporter.EXPORTER`` and the operator table in ``ops``."""
