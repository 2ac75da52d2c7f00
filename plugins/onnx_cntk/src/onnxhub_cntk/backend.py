"""Backend ``cntk``: ONNX models executed by real CNTK 2.7 in its runtime (CPython 3.6).

One operator table (``runtime_side/ops/``) builds CNTK symbolic functions for ONNX nodes;
it serves two ways to run, both on CNTK's own kernels inside the runtime worker:

- the operator interpreter: graph inputs and initializers become CNTK constants, the
  table composes the graph on them and CNTK evaluates the outputs (every op of the table,
  values that shapes, axes or counts depend on are evaluated by CNTK first);
- the graph builder (the fast path): the graph composed once per input-shape signature on
  CNTK input variables with ONNX's exact static shapes, then evaluated on every run. Used
  whenever the whole graph has a static CNTK form and its first run agrees with the
  interpreter (``onnxhub.backend.runtime``).

CNTK tensors hold float32/float64 only: float16 is computed in float32 (rounded where it
leaves), every integer and bool type in float64, which is exact for integers below 2**53;
strings, complex and the 8-/4-bit float types are refused as a CNTK limit. Control flow
and sequences run in the plan interpreter with CNTK kernels for every body op.
"""

from __future__ import annotations

from onnxhub.backend.runtime import RuntimeBackend, RuntimeRep


class CNTKRep(RuntimeRep):
    fast_run, fast_drop = "run_executor", "drop_executor"
    timeout = 600.0  # composing a large graph is slow in CNTK

    def fast_path(self, signature):
        inputs = [[n, list(s), d] for n, s, d in signature]
        result, _ = self.call("load_graph", {"plan": self.plan_id, "inputs": inputs})
        return result["id"]


class CNTKBackend(RuntimeBackend):
    name = runtime = "cntk"
    label, where = "CNTK 2.7", "the CNTK backend"
    devices = ("cpu",)
    # ONNX types the runtime side computes in CNTK's float32/float64 (see the module docstring).
    dtypes = frozenset({"float16", "float32", "float64", "bool", "int8", "int16", "int32", "int64",
                        "uint8", "uint16", "uint32", "uint64"})
    rep_class = CNTKRep
    # Types with no numpy form in the runtime, carried in a wider one by the hub (as for MXNet):
    # 4-/2-bit integers exactly (casts to them wrap in CNTK), bfloat16/float8/float4 in float32,
    # rounded once where a value leaves (a Cast to float8 saturates in CNTK). float8e8m0 is refused.
    widen = {"int4": "int8", "uint4": "uint8", "int2": "int8", "uint2": "uint8",
             "bfloat16": "float32", "float8_e4m3fn": "float32", "float8_e4m3fnuz": "float32",
             "float8_e5m2": "float32", "float8_e5m2fnuz": "float32", "float4_e2m1fn": "float32"}
    load_timeout = 300.0
