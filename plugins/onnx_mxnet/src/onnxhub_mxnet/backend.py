"""Backend ``mxnet``: ONNX models executed by real MXNet 1.9.1 in its runtime.

Two ways to run, both on MXNet's own kernels inside the runtime worker:

- the operator interpreter: every ONNX node executed in turn by ``mxnet.np`` /
  ``mxnet.npx`` (``runtime_side/ops/``), which covers far more of ONNX;
- the graph executor (the fast path): the importer (``import_/``) turns the model into
  an MXNet symbol for the inputs' shapes, which the worker binds once per input-shape
  signature. Used whenever the importer's table covers the model and the executor's
  first run agrees with the interpreter.

Control flow (If, Loop, Scan, SequenceMap) and sequences/optionals run in the plan
interpreter (``onnxhub.runtime_side.plans.PlanStore``) with MXNet kernels for every body
op; types MXNet lacks are computed in a wider one (``widen`` below). Such models always
take the interpreter.

Plans, releases and the fast-path check are ``onnxhub.backend.runtime``'s.
"""

from __future__ import annotations

from onnxhub.backend.runtime import RuntimeBackend, RuntimeRep


class MXNetRep(RuntimeRep):
    fast_run, fast_drop = "run_executor", "drop_executor"

    def fast_path(self, signature):
        from .import_.importer import convert

        if _computed_indices(self.model.graph):
            return None  # MXNet's take wraps an out-of-range index; the interpreter checks each run
        symbol, params, _ = convert(self.model, {n: s for n, s, _ in signature})
        inputs = [[n, list(s), d] for n, s, d in signature]
        result, _ = self.call("load_symbol", {"symbol": symbol, "inputs": inputs}, params)
        return result["id"]


# Ops whose index input (the second) ONNX requires in range; MXNet's executor clips or wraps instead.
INDEXED = ("Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "Scatter")


def _computed_indices(graph) -> bool:
    """Whether an indexing op takes indices that are not constants (initializers, Constant nodes):
    those can only be checked run by run, which the interpreter does. Constant ones the first run's
    comparison with the interpreter checks once for all."""
    constant = {t.name for t in graph.initializer}
    constant |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    return any(n.op_type in INDEXED and len(n.input) > 1 and n.input[1] not in constant for n in graph.node)


class MXNetBackend(RuntimeBackend):
    name = runtime = "mxnet"
    label, where = "MXNet 1.9", "the MXNet backend"
    devices = ("cpu",)
    # numpy dtypes MXNet 1.9's numpy arrays hold; ONNX types outside this set cannot run on MXNet.
    dtypes = frozenset({"float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"})
    rep_class = MXNetRep
    # Types MXNet 1.9 lacks, computed in a wider type it holds (inputs, initializers and tensor
    # attributes widened by the hub, outputs cast back to the declared type). Exact:
    # - uint16/int16 (in int32), uint32 (in int64), int4/uint4/int2/uint2 (in int8/uint8): every
    #   op whose result fits the wider type; add/sub/mul/neg/bitwise/shifts wrap correctly because
    #   the value is cast back (and a Cast to the narrow type wraps into its range at once);
    # - uint64 (in int64, the same bits): add/sub/mul/bitwise/left shift always; comparisons,
    #   division, right shift, min/max/sort only for values below 2**63;
    # - bfloat16, float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz), float4e2m1 (in float32, which holds
    #   them exactly): a value rounded once, where it leaves the runtime (a graph output) -- casts,
    #   (de)quantization, data movement. A Cast to float8 saturates (clips) in the runtime as ONNX
    #   says. Not exact: a chain of float ops on these types inside one graph (ONNX rounds to
    #   the narrow type after each op; here only at the output), or a Cast to one of them whose
    #   result is used inside the graph. float8e8m0 and strings are refused.
    widen = {"uint16": "int32", "int16": "int32", "uint32": "int64", "uint64": "int64",
             "int4": "int8", "uint4": "uint8", "int2": "int8", "uint2": "uint8",
             "bfloat16": "float32", "float8_e4m3fn": "float32", "float8_e4m3fnuz": "float32",
             "float8_e5m2": "float32", "float8_e5m2fnuz": "float32", "float4_e2m1fn": "float32"}
