"""Backend ``caffe2``: ONNX models executed by real Caffe2 (torch 1.10.2) in its runtime.

Two ways to run, both on Caffe2's own operators inside the runtime worker:

- the operator interpreter: every ONNX node executed in turn by one or a few Caffe2
  operators (``workspace.RunOperatorOnce``; ``runtime_side/ops/``), ONNX semantics Caffe2
  lacks composed from Caffe2 ops;
- the net executor (the fast path): the importer (``import_/``) turns the model into an
  init_net + predict_net for the inputs' shapes, which the worker creates once per
  input-shape signature and runs with ``workspace.RunNet``. Used whenever the importer's
  table covers the model and the net's first run agrees with the interpreter.

Control flow and sequences run in the plan interpreter (``onnxhub.runtime_side.plans``)
with Caffe2 operators for every body op. Plans, releases and the fast-path check are
``onnxhub.backend.runtime``'s.
"""

from __future__ import annotations

import numpy as np

from onnxhub.backend.runtime import RuntimeBackend, RuntimeRep


class Caffe2Rep(RuntimeRep):
    fast_run, fast_drop = "run_executor", "drop_executor"

    def fast_path(self, signature):
        from .import_.importer import convert

        try:
            init, predict, _, weights = convert(self.model, {n: s for n, s, _ in signature}, feed_weights=True)
        except (ValueError, KeyError, TypeError, IndexError, RuntimeError):
            return None  # a form prepare_model/the version converter cannot bring into the window: interpret
        inputs = [[n, list(s), d] for n, s, d in signature]
        arrays = {"init_net": np.frombuffer(init, np.uint8), "predict_net": np.frombuffer(predict, np.uint8)}
        arrays.update(("w:" + k, v) for k, v in weights.items())
        result, _ = self.call("load_nets", {"inputs": inputs}, arrays)
        return result["id"]


class Caffe2Backend(RuntimeBackend):
    name = runtime = "caffe2"
    label, where = "Caffe2 (torch 1.10.2)", "the Caffe2 backend"
    devices = ("cpu",)
    # numpy dtypes Caffe2 tensors hold and its Cast converts between on CPU.
    dtypes = frozenset({"float32", "float64", "int32", "int64", "bool", "uint8", "int8", "uint16", "int16"})
    rep_class = Caffe2Rep
    # Types Caffe2 lacks (on CPU it cannot even cast float16), computed in a wider type it holds,
    # cast back at the outputs; exact as for the MXNet backend (see onnxhub_mxnet.backend.MXNetBackend.widen):
    # integers wrap into their range at a Cast, float16/bfloat16/float8 are rounded where a value
    # leaves the runtime (a chain of float ops on them rounds only once, at the output).
    widen = {"uint32": "int64", "uint64": "int64", "float16": "float32", "int4": "int8", "uint4": "uint8",
             "int2": "int8", "uint2": "uint8", "bfloat16": "float32", "float8_e4m3fn": "float32",
             "float8_e4m3fnuz": "float32", "float8_e5m2": "float32", "float8_e5m2fnuz": "float32",
             "float4_e2m1fn": "float32"}
