"""Runtime-side half of the ``caffe2`` backend: runs inside the Caffe2 runtime, never in the hub.

``handler.py`` answers the worker's requests; ``ops/`` is its ONNX operator table, by family.
The worker imports this package with ``onnxhub_caffe2`` as a bare package, so the plugin's
``__init__`` (and onnxhub's) never run there.
"""
