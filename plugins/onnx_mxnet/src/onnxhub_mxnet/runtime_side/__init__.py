"""Runtime-side half of the ``mxnet`` backend: runs inside the MXNet runtime, never in the hub.

``handler.py`` answers the worker's requests; ``ops/`` is its ONNX operator table, by family.
The worker imports this package with ``onnxhub_mxnet`` as a bare package, so the plugin's
``__init__`` (and onnxhub's) never run there.
"""
