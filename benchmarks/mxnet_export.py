"""MXNet -> ONNX export: onnxhub (pure Python) against MXNet's own mx.onnx.export_model.

1. resnet50_v1 (Gluon model zoo, random init): wall time and peak RSS of each exporter
   on the same files, each in a fresh process. Targets (issue 5): onnxhub >= 3x faster;
   onnxhub's peak RSS above its baseline <= 1.5x the .params size. The baseline is the
   process's RSS with its libraries imported, just before the export starts.
2. How many model-zoo architectures each exporter converts correctly: the ONNX file, run
   by ONNX Runtime, matches MXNet's own output (rtol 1e-3, atol 1e-4). mx.onnx runs
   with the workarounds of RUNTIMES.md (onnx 1.14 in its runtime, which still has
   onnx.mapping; explicit input shapes). MXNet 1.9.1's export_model takes no opset: it
   stamps the installed onnx's newest.

Needs the mxnet runtime (onnxhub runtime install mxnet). `--models a,b` limits part 2;
`--models none` skips it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from onnxhub.home import runtime_dir, runtime_installed
from onnxhub.runtime.bridge import Worker

ROOT = Path(__file__).resolve().parent.parent
SIDE = ROOT / "plugins" / "onnx_mxnet" / "tests" / "mxnet_side.py"
ZOO = ["alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "inceptionv3", "mobilenet0.25",
       "mobilenet0.5", "mobilenet0.75", "mobilenet1.0", "mobilenetv2_0.25", "mobilenetv2_0.5", "mobilenetv2_0.75",
       "mobilenetv2_1.0", "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1", "resnet18_v2",
       "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2", "squeezenet1.0", "squeezenet1.1", "vgg11",
       "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]

MEASURE = """
import json, os, resource, sys, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))
{imports}
base = rss()
start = time.perf_counter()
{export}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "base": base, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""

HUB = dict(imports="import onnxhub.api, onnxhub_mxnet.export.exporter, onnx, numpy",
           export="onnxhub.api.export_to_file([sys.argv[1], sys.argv[2]], sys.argv[3], source='mxnet', "
                  "input_shapes=['data=1,3,224,224'])")
MXNET = dict(imports="import warnings; warnings.simplefilter('ignore')\nimport mxnet as mx, numpy as np, onnx",
             export="mx.onnx.export_model(sys.argv[1], sys.argv[2], in_shapes=[(1, 3, 224, 224)], "
                    "in_types=[np.float32], onnx_file_path=sys.argv[3])")


def measure(python: str, recipe: dict, files, out) -> dict:
    code = MEASURE.format(**recipe)
    r = subprocess.run([python, "-c", code, *map(str, files), str(out)], capture_output=True, text=True,
                       env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def correct(model_path: Path, x, y) -> bool:
    import onnxruntime as ort

    try:
        so = ort.SessionOptions()
        so.log_severity_level = 4
        sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        return got.shape == y.shape and bool(np.allclose(got, y, rtol=1e-3, atol=1e-4))
    except Exception:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="all", help="comma-separated zoo names, 'all' or 'none'")
    args = parser.parse_args()
    if not runtime_installed("mxnet"):
        print("the mxnet runtime is not installed: run `onnxhub runtime install mxnet`")
        return 1
    py = str(runtime_dir("mxnet") / "bin" / "python")
    worker = Worker(py, SIDE, {"OMP_NUM_THREADS": "1"}, name="mxnet")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prefix = tmp / "resnet50_v1"
        worker.call("zoo", {"name": "resnet50_v1", "prefix": str(prefix), "batch": 1}, timeout=600)
        files = [f"{prefix}-symbol.json", f"{prefix}-0000.params"]
        size = Path(files[1]).stat().st_size
        hub = measure(sys.executable, HUB, files, tmp / "hub.onnx")
        ref = measure(py, MXNET, files, tmp / "mx.onnx")
        print(f"resnet50_v1 export (.params {size / 1e6:.1f} MB), fresh process each:")
        for label, m in (("onnxhub", hub), ("mx.onnx.export_model", ref)):
            if "error" in m:
                print(f"  {label:22s} FAILED: {m['error']}")
            else:
                above = m["peak"] - m["base"]
                print(f"  {label:22s} {m['seconds']:7.2f} s   peak RSS {m['peak'] / 1e6:7.1f} MB, "
                      f"{above / 1e6:7.1f} MB above baseline = {above / size:.2f}x .params")
        if "error" not in hub and "error" not in ref:
            speedup = ref["seconds"] / hub["seconds"]
            mem = (hub["peak"] - hub["base"]) / size
            print(f"  speed-up {speedup:.1f}x (target >= 3: {'OK' if speedup >= 3 else 'BELOW TARGET'}); "
                  f"onnxhub memory {mem:.2f}x .params (target <= 1.5: {'OK' if mem <= 1.5 else 'ABOVE TARGET'})")

        names = [] if args.models == "none" else ZOO if args.models == "all" else args.models.split(",")
        if names:
            print(f"\nmodel zoo, exported and checked against MXNet's output ({len(names)} architectures):")
        ok = {"onnxhub": 0, "mx.onnx": 0}
        for name in names:
            p = tmp / name
            _, truth = worker.call("zoo", {"name": name, "prefix": str(p), "batch": 1, "seed": 3}, timeout=600)
            files = [f"{p}-symbol.json", f"{p}-0000.params"]
            shape = "data=" + ",".join(map(str, truth["x"].shape))
            r = subprocess.run([sys.executable, "-m", "onnxhub", "export", *files, "-o", str(tmp / "hub.onnx"),
                                "--input-shape", shape, "--force"], capture_output=True, text=True)
            hub_ok = r.returncode == 0 and correct(tmp / "hub.onnx", truth["x"], truth["y"])
            code = MEASURE.format(imports=MXNET["imports"], export=MXNET["export"].replace(
                "[(1, 3, 224, 224)]", f"[{tuple(truth['x'].shape)}]"))
            (tmp / "mx.onnx").unlink(missing_ok=True)
            r = subprocess.run([py, "-c", code, *files, str(tmp / "mx.onnx")], capture_output=True, text=True)
            mx_ok = r.returncode == 0 and correct(tmp / "mx.onnx", truth["x"], truth["y"])
            ok["onnxhub"] += hub_ok
            ok["mx.onnx"] += mx_ok
            print(f"  {name:18s} onnxhub {'ok' if hub_ok else 'WRONG'}   mx.onnx {'ok' if mx_ok else 'WRONG'}")
            for f in files:
                Path(f).unlink()
        if names:
            print(f"correct: onnxhub {ok['onnxhub']}/{len(names)}, mx.onnx.export_model {ok['mx.onnx']}/{len(names)}")
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
