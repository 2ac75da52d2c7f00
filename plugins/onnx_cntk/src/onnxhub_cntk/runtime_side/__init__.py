"""Runtime-side half of the ``cntk`` backend and importer: runs inside the CNTK runtime, never in the hub.

CPython 3.6 with numpy and cntk only (no onnx). ``handler.py`` answers the worker's
requests; ``ops/`` is the ONNX operator table, by family. The worker imports this package
with ``onnxhub_cntk`` as a bare package, so the plugin's ``__init__`` never runs there.
"""
