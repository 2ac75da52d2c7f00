"""The CNTK worker gives back the memory of released plans (issue #22: it grew 1 GiB over 17 models)."""

import gc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxhub

MIB = 1 << 20


def _big_model(seed: int) -> onnx.ModelProto:
    """x[1, 4096] @ W[4096, 4096]: a 64 MiB float32 initializer."""
    w = np.random.default_rng(seed).standard_normal((4096, 4096), dtype=np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "big",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4096])],
                              [numpy_helper.from_array(w, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.runtime("cntk")
def test_worker_memory_is_flat_over_prepare_release_cycles(cntk):
    backend = onnxhub.get_backend("cntk")
    x = np.ones((1, 4096), np.float32)
    samples = []
    for cycle in range(20):
        rep = backend.prepare(_big_model(cycle))
        (y,) = rep.run([x])
        assert y.shape == (1, 4096)
        worker = rep.worker
        del rep
        gc.collect()
        worker.call("version", {}, timeout=60)  # the rep's release goes with the next call
        samples.append(_rss(worker.proc.pid))
    # After a warm-up (CNTK's and MKL's own pools), 20 models of 64 MiB must not pile up.
    growth = max(samples[3:]) - samples[3]
    assert growth <= 64 * MIB, f"worker RSS grew {growth / MIB:.0f} MiB: {[s // MIB for s in samples]}"
