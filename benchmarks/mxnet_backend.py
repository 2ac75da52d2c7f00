"""Backend `mxnet`: onnxhub's rep.run against a direct MXNet forward of the same symbol.

A ResNet-50 (Gluon model zoo, random init) is exported to ONNX by onnxhub, imported
back into MXNet files by onnxhub's importer, and run two ways at batch 1 and 8:
  - onnxhub: `get_backend("mxnet").prepare(model).run([x])` from this process (the
    graph executor bound in the runtime worker, inputs and outputs over the bridge);
  - direct: the imported symbol bound by MXNet itself inside the runtime, timed there.
Prints both medians and the ratio; target (issue 6): <= 1.15 at batch 8.
Needs the mxnet runtime (onnxhub runtime install mxnet).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import onnxhub
from onnxhub.home import runtime_dir, runtime_installed
from onnxhub.runtime.bridge import Worker

SIDE = Path(__file__).resolve().parent.parent / "plugins" / "onnx_mxnet" / "tests" / "mxnet_side.py"
RUNS = 7


def main() -> int:
    if not runtime_installed("mxnet"):
        print("the mxnet runtime is not installed: run `onnxhub runtime install mxnet`")
        return 1
    side = Worker(runtime_dir("mxnet") / "bin" / "python", SIDE, {"OMP_NUM_THREADS": "1"}, name="mxnet")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        side.call("zoo", {"name": "resnet50_v1", "prefix": str(tmp / "r50"), "batch": 1}, timeout=600)
        model = onnxhub.export_model([tmp / "r50-symbol.json", tmp / "r50-0000.params"], source="mxnet",
                                     input_shapes=["data=1,3,224,224"])
        symbol, params = onnxhub.import_model(model, "mxnet", tmp / "imported")
        rep = onnxhub.get_backend("mxnet").prepare(model)
        print(f"resnet50_v1, OMP_NUM_THREADS=1, median of {RUNS} runs")
        for batch in (1, 8):
            x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
            rep.run([x])  # binds (and checks) the executor for this shape
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                rep.run([x])
                times.append(time.perf_counter() - start)
            hub = statistics.median(times)
            direct = side.call("time_symbol", {"symbol": str(symbol), "params": str(params), "input": "data",
                                               "runs": RUNS}, {"x": x}, timeout=600)[0]["median"]
            target = " (target <= 1.15: " + ("OK" if hub / direct <= 1.15 else "ABOVE TARGET") + ")" if batch == 8 else ""
            print(f"  batch {batch}: onnxhub rep.run {1000 * hub:8.1f} ms   direct MXNet forward {1000 * direct:8.1f} ms"
                  f"   ratio {hub / direct:.3f}{target}")
    side.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
