"""Backend `cntk`: onnxhub's rep.run against a direct CNTK evaluation of the same graph.

A ResNet-50 built by CNTK's own layers (``cntk_side.build("resnet50")``, seeded random
weights) is exported to ONNX by onnxhub, imported back into a CNTK ``.model`` by onnxhub's
importer (the same op table composes both), and run two ways at batch 1 and 8:
  - onnxhub: `get_backend("cntk").prepare(model).run([x])` from this process (the graph
    composed once per input shape in the runtime worker, inputs and outputs over the bridge);
  - direct: the imported ``.model`` loaded with ``cntk.load_model`` and evaluated by CNTK
    itself inside the runtime, timed there (the ratio's denominator); for reference also
    the original ``cntk.layers`` model, evaluated the same way.
Prints the medians and the ratio; target (issue 14): <= 1.10 at batch 8.
Needs the cntk runtime (onnxhub runtime install cntk).
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

SIDE = Path(__file__).resolve().parent.parent / "plugins" / "onnx_cntk" / "tests" / "cntk_side.py"
RUNS = 5


def main() -> int:
    if not runtime_installed("cntk"):
        print("the cntk runtime is not installed: run `onnxhub runtime install cntk`")
        return 1
    side = Worker(runtime_dir("cntk") / "bin" / "python", SIDE, {}, name="cntk")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        side.call("build", {"name": "resnet50", "path": str(tmp / "r50.model"), "batch": 1}, timeout=600)
        model = onnxhub.export_model([tmp / "r50.model"], source="cntk")
        (imported,) = onnxhub.import_model(model, "cntk", tmp / "imported")
        rep = onnxhub.get_backend("cntk").prepare(model)
        print(f"CNTK ResNet-50 (cntk.layers), median of {RUNS} runs")
        for batch in (1, 8):
            x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
            rep.run([x])  # composes (and checks) the graph for this shape
            path = "composed graph" if rep.fast else "operator interpreter (the graph was refused)"
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                rep.run([x])
                times.append(time.perf_counter() - start)
            hub = statistics.median(times)
            direct = side.call("time_eval", {"path": str(imported), "runs": RUNS}, {"x": x}, timeout=600)[0]["median"]
            original = side.call("time_eval", {"path": str(tmp / "r50.model"), "runs": RUNS}, {"x": x},
                                 timeout=600)[0]["median"]
            target = " (target <= 1.10: " + ("OK" if hub / direct <= 1.10 else "ABOVE TARGET") + ")" if batch == 8 else ""
            print(f"  batch {batch}: onnxhub rep.run {1000 * hub:8.1f} ms   direct CNTK eval {1000 * direct:8.1f} ms"
                  f"   ratio {hub / direct:.3f}{target}   [{path}; original CNTK model {1000 * original:.1f} ms]")
    side.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
