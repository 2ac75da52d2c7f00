"""Overhead of onnxhub's onnxruntime backend over a bare ``InferenceSession.run``.

Same process, same session, same inputs; calls interleaved so drift hits both
alike. The baseline is what a user writes: ``session.run(None, {name: x})``.
Target (issue 3): median ratio <= 1.05 for a small model at batch 1 (the example
tiny_cnn) and for light_resnet50 (shipped with onnx). A one-Gemm micro model is
printed too: there the run itself takes microseconds, so its ratio shows the
absolute per-call cost of the wrapper rather than anything a real model would see.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import onnxhub


def small_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
        [numpy_helper.from_array(rng.standard_normal((64, 32)).astype(np.float32), "W"),
         numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def tiny_cnn() -> onnx.ModelProto:
    return onnx.load(str(Path(__file__).parent.parent / "examples" / "models" / "tiny_cnn.onnx"))


def resnet50() -> onnx.ModelProto:
    path = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"
    return onnx.load(str(path))


def measure(name: str, model: onnx.ModelProto, rounds: int, target: float | None = 1.05) -> float:
    rep = onnxhub.get_backend("onnxruntime").prepare(model, "cpu", intra_op_num_threads=1)
    session = rep.session
    inp = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    name_ = inp.name
    for _ in range(3):  # warm-up
        session.run(None, {name_: x})
        rep.run([x])
    bare, hub = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        session.run(None, {name_: x})
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        rep.run([x])
        hub.append(time.perf_counter() - t)
    b, h = statistics.median(bare), statistics.median(hub)
    ratio = h / b
    verdict = "informational" if target is None else ("OK" if ratio <= target else "ABOVE TARGET")
    print(f"  {name:22s} bare {1e6 * b:10.1f} us   onnxhub {1e6 * h:10.1f} us   "
          f"(+{1e6 * (h - b):.2f} us)   ratio {ratio:.3f}  {verdict}")
    return ratio


def main() -> int:
    scale = int(os.environ.get("BENCH_SCALE", "1"))
    print(f"onnxruntime backend overhead (median of interleaved runs), onnxruntime "
          f"{__import__('onnxruntime').__version__}")
    measure("one Gemm, batch 1", small_model(), 3000 * scale, target=None)
    measure("tiny_cnn, batch 1", tiny_cnn(), 1000 * scale)
    measure("light_resnet50, batch 1", resnet50(), 30 * scale)
    print("target: ratio <= 1.05 for tiny_cnn and light_resnet50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
