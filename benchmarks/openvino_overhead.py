"""Overhead of onnxhub's openvino backend over bare ``CompiledModel`` inference, and OpenVINO next to
ONNX Runtime on the same model.

Overhead: same process, same compiled model and infer request (the ones the rep made for
that shape), same inputs; calls interleaved so drift hits both alike. The baseline is what
an OpenVINO user writes: ``request = compiled.create_infer_request(); request.infer([x])``. Target (issue 25):
median ratio <= 1.05 at batch 1 and 8, for tiny_cnn (the example model) and light_resnet50
(shipped with onnx, its batch made dynamic here).

Side by side: light_resnet50 through onnxhub on OpenVINO (f32, the default precision) and on
ONNX Runtime's CPU provider, both with their default thread pools, batch 1 and 8, each timed
in a block of runs (``blocks``). The ratio
is ONNX Runtime's time over OpenVINO's (above 1: OpenVINO is faster). The light weights make
both outputs nearly uniform, so their max difference only shows that the two agree in shape.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

import onnxhub
import onnxhub_openvino  # noqa: F401  (before openvino: keeps its telemetry from loading)


def tiny_cnn() -> onnx.ModelProto:
    return onnx.load(str(Path(__file__).parent.parent / "examples" / "models" / "tiny_cnn.onnx"))


def resnet50() -> onnx.ModelProto:
    """light_resnet50 (ResNet-50 v1 as Caffe2 exported it, light weights) with a dynamic batch."""
    path = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"
    model = onnx.load(str(path))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    # its Reshape before the classifier names batch 1 ([1, 2048]): any batch instead
    shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for i, init in enumerate(model.graph.initializer):
        if init.name in shapes:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.array([-1, 2048], np.int64), init.name))
    return model


def inputs(model: onnx.ModelProto, batch: int) -> np.ndarray:
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return np.random.default_rng(1).standard_normal([batch, *dims[1:]]).astype(np.float32)


def interleaved(a, b, rounds: int) -> tuple[float, float]:
    """Median seconds of ``a()`` and ``b()``, called in turn ``rounds`` times after a warm-up."""
    for _ in range(3):
        a(), b()
    ta, tb = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def blocks(a, b, rounds: int) -> tuple[float, float]:
    """Median seconds of ``a()`` and ``b()``, each run ``rounds`` times in a block after a warm-up.

    Two runtimes are timed in blocks, not in turn: ONNX Runtime's threads spin for a while
    after each run, and would take the CPU from OpenVINO's next run.
    """
    out = []
    for f in (a, b):
        for _ in range(3):
            f()
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        out.append(statistics.median(times))
    return out[0], out[1]


def overhead(name: str, model: onnx.ModelProto, batch: int, rounds: int, target: float = 1.05) -> float:
    rep = onnxhub.get_backend("openvino").prepare(model, "cpu")
    x = inputs(model, batch)
    rep.run([x])  # compiles for this shape
    # the compiled model and infer request rep.run uses: the ratio is the wrapper's cost alone (two requests
    # in turn on one compiled model would also measure OpenVINO switching between them)
    request = rep.compiled_for([x]).request
    bare, hub = interleaved(lambda: request.infer([x]), lambda: rep.run([x]), rounds)
    assert rep.compiles == 1, rep.compiles  # every run after the first reused the compiled model
    ratio = hub / bare
    print(f"  {name:28s} bare {1e6 * bare:10.1f} us   onnxhub {1e6 * hub:10.1f} us   "
          f"(+{1e6 * (hub - bare):.2f} us)   ratio {ratio:.3f}  {'OK' if ratio <= target else 'ABOVE TARGET'}")
    return ratio


def side_by_side(name: str, model: onnx.ModelProto, batch: int, rounds: int) -> float:
    x = inputs(model, batch)
    ov_rep = onnxhub.get_backend("openvino").prepare(model, "cpu")
    ort_rep = onnxhub.get_backend("onnxruntime").prepare(model, "cpu")
    got, want = ov_rep.run([x])[0], ort_rep.run([x])[0]
    diff = float(np.max(np.abs(got - want)))
    t_ov, t_ort = blocks(lambda: ov_rep.run([x]), lambda: ort_rep.run([x]), rounds)
    print(f"  {name:28s} openvino {1e3 * t_ov:8.2f} ms   onnxruntime {1e3 * t_ort:8.2f} ms   "
          f"onnxruntime/openvino {t_ort / t_ov:.2f}   max |diff| {diff:.2e}")
    return t_ort / t_ov


def main() -> int:
    scale = int(os.environ.get("BENCH_SCALE", "1"))
    import onnxruntime
    import openvino

    print(f"openvino backend overhead (median of interleaved runs), OpenVINO {openvino.get_version()}, "
          f"{os.cpu_count()} CPUs")
    cnn, r50 = tiny_cnn(), resnet50()
    overhead("tiny_cnn, batch 1", cnn, 1, 2000 * scale)
    overhead("tiny_cnn, batch 8", cnn, 8, 1000 * scale)
    overhead("light_resnet50, batch 1", r50, 1, 30 * scale)
    overhead("light_resnet50, batch 8", r50, 8, 10 * scale)
    print("target: ratio <= 1.05")
    print(f"OpenVINO f32 vs ONNX Runtime {onnxruntime.__version__} CPU, both through onnxhub, default threads")
    side_by_side("light_resnet50, batch 1", r50, 1, 30 * scale)
    side_by_side("light_resnet50, batch 8", r50, 8, 10 * scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
