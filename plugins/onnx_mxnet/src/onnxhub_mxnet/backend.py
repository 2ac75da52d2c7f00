"""Backend ``mxnet``: ONNX models executed by real MXNet 1.9.1 in its runtime.

Two ways to run, both on MXNet's own kernels inside the runtime worker:

- the operator interpreter: every ONNX node executed in turn by ``mxnet.np`` /
  ``mxnet.npx`` (``runtime_side/ops/``), which covers far more of ONNX;
- the graph executor (the fast path): the importer (``import_/``) turns the model into
  an MXNet symbol for the inputs' shapes, which the worker binds once per input-shape
  signature. Used whenever the importer's table covers the model and the executor's
  first run agrees with the interpreter.

Plans, releases and the fast-path check are ``onnxhub.backend.runtime``'s.
"""

from __future__ import annotations

from onnxhub.backend.runtime import RuntimeBackend, RuntimeRep


class MXNetRep(RuntimeRep):
    fast_run, fast_drop = "run_executor", "drop_executor"

    def fast_path(self, signature):
        from .import_.importer import convert

        symbol, params, _ = convert(self.model, {n: s for n, s, _ in signature})
        inputs = [[n, list(s), d] for n, s, d in signature]
        result, _ = self.call("load_symbol", {"symbol": symbol, "inputs": inputs}, params)
        return result["id"]


class MXNetBackend(RuntimeBackend):
    name = runtime = "mxnet"
    label, where = "MXNet 1.9", "the MXNet backend"
    devices = ("cpu",)
    # numpy dtypes MXNet 1.9's numpy arrays hold; ONNX types outside this set cannot run on MXNet.
    dtypes = frozenset({"float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"})
    rep_class = MXNetRep
