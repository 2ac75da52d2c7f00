"""The ``onnxhub`` command line."""
