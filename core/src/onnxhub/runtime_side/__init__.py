"""Runtime-side half of onnxhub: code that runs inside a framework's isolated runtime.

Everything here is valid CPython 3.6 and imports only the standard library and numpy
(``worker.py``: the worker loop and frame format; ``plans.py``: handles, the plan store
and the ONNX interpreter loop). Inside a runtime, onnxhub is not installed: the worker
makes ``onnxhub`` a bare package (its ``__init__`` never runs), so only modules written
for the runtime side are imported there: these, ``onnxhub.optable`` and ``onnxhub.errors``.
"""
