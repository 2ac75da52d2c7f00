"""Backend `caffe2`: onnxhub's rep.run against a direct Caffe2 ``workspace.RunNet`` of the same nets.

A ResNet-50 (``caffe2.python.models.resnet``, random weights, saved by mobile_exporter) is
exported to ONNX by onnxhub, imported back into Caffe2 NetDefs by onnxhub's importer, and
run two ways at batch 1 and 8:
  - onnxhub: `get_backend("caffe2").prepare(model).run([x])` from this process (the
    importer's nets created once per input shape in the runtime worker and run with
    ``workspace.RunNet``, inputs and outputs over the bridge);
  - direct: the imported init_net/predict_net created by Caffe2 itself inside the runtime,
    ``FeedBlob`` + ``RunNet`` + ``FetchBlob`` timed there.
Prints both medians and the ratio; target (issue 12): <= 1.10 at batch 8. Never asserts.
Needs the caffe2 runtime (onnxhub runtime install caffe2).
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

SIDE = Path(__file__).resolve().parent.parent / "plugins" / "onnx_caffe2" / "tests" / "caffe2_side.py"
RUNS = 7


def main() -> int:
    if not runtime_installed("caffe2"):
        print("the caffe2 runtime is not installed: run `onnxhub runtime install caffe2`")
        return 1
    side = Worker(runtime_dir("caffe2") / "bin" / "python", SIDE, {}, name="caffe2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result, _ = side.call("build", {"name": "resnet50", "folder": str(tmp / "r50"), "seed": 5, "batch": 1,
                                        "style": "mobile"}, timeout=600)
        model = onnxhub.export_model([result["paths"]["predict"], result["paths"]["init"]], source="caffe2")
        rep = onnxhub.get_backend("caffe2").prepare(model)
        print(f"caffe2.python.models.resnet ResNet-50, median of {RUNS} runs")
        for batch in (1, 8):
            x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
            rep.run([x])  # creates (and checks) the nets for this shape
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                rep.run([x])
                times.append(time.perf_counter() - start)
            hub = statistics.median(times)
            folder = tmp / f"imported{batch}"
            onnxhub.import_model(model, "caffe2", folder, input_shapes={result["input"]: list(x.shape)})
            direct = side.call("time_nets", {"folder": str(folder), "input": result["input"], "runs": RUNS},
                               {"x": x}, timeout=600)[0]["median"]
            target = " (target <= 1.10: " + ("OK" if hub / direct <= 1.10 else "ABOVE TARGET") + ")" if batch == 8 else ""
            fast = "net fast path" if rep.fast and rep.executors else "operator interpreter"
            print(f"  batch {batch}: onnxhub rep.run ({fast}) {1000 * hub:8.1f} ms   direct Caffe2 RunNet "
                  f"{1000 * direct:8.1f} ms   ratio {hub / direct:.3f}{target}")
    side.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
