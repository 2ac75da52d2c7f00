"""Caffe2 -> ONNX export: onnxhub (pure Python, no Caffe2) against Caffe2's own ``caffe2.python.onnx.frontend``.

ResNet-50 from ``caffe2.python.models.resnet`` (25.5 M parameters; its ``init_net.pb`` is about
128 MB, one protobuf tag per float) with seeded random weights, built and saved by Caffe2 in
its runtime (once; cached in ``--workdir``), then converted to ONNX by both sides, each in a
fresh process per run, runs interleaved so that machine load hits both alike:

- Caffe2: parse both NetDefs with ``caffe2_pb2`` + ``frontend.caffe2_net_to_onnx_model`` +
  serialize, in the caffe2 runtime (torch 1.10.2, CPython 3.9). The frontend needs ``onnx``,
  which the runtime does not carry: ``onnx==1.17.0`` (the newest that works with its
  protobuf 3.20) is installed once into ``--workdir/frontend-site`` with ``--no-deps`` and put
  on ``PYTHONPATH``. It writes opset 9 with a fixed batch.
- onnxhub in-process: the caffe2 exporter's read (``formats.netdef.read_pair``), convert
  (``build_model``) and streamed save (``check_exported`` + ``save_streaming``) in this
  interpreter, where Caffe2 is not installed; imports done before the clock starts.
- whole process: wall time of ``onnxhub export predict_net.pb init_net.pb -o out.onnx``.

Targets (issue 11): onnxhub >= 10x faster than the frontend; peak RSS <= 1.5x the init_net
size. A speed-up is the median of the per-round ratios. Needs the caffe2 runtime; when it is
missing and cannot be installed, the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDE = ROOT / "plugins" / "onnx_caffe2" / "tests" / "caffe2_side.py"
os.environ.setdefault("ONNXHUB_HOME", str(ROOT / ".onnxhub-home"))  # as the tests and noxfile.py default it

# Run in a fresh interpreter; prints one JSON line. t0 is taken once the interpreter is up.
PRELUDE = """
import json, resource, sys, time
t0 = time.perf_counter()
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))
"""

CAFFE2_CODE = PRELUDE + """
import warnings; warnings.simplefilter("ignore")
from caffe2.proto import caffe2_pb2
from caffe2.python.onnx import frontend
from onnx import TensorProto
t1 = time.perf_counter()
base = rss()
predict, init = caffe2_pb2.NetDef(), caffe2_pb2.NetDef()
with open(sys.argv[1], "rb") as f:
    predict.ParseFromString(f.read())
with open(sys.argv[2], "rb") as f:
    init.ParseFromString(f.read())
t2 = time.perf_counter()
model = frontend.caffe2_net_to_onnx_model(predict, init, {"data": (TensorProto.FLOAT, (1, 3, 224, 224))})
t3 = time.perf_counter()
with open(sys.argv[3], "wb") as f:
    f.write(model.SerializeToString())
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "convert": t3 - t2, "save": t4 - t3, "base": base,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "opset": model.opset_import[0].version}))
"""
HUB_CODE = PRELUDE + """
import importlib.util
import numpy, onnx
from onnxhub.modelio import check_exported, save_streaming
from onnxhub_caffe2.export.exporter import build_model
from onnxhub_caffe2.formats.netdef import read_pair
t1 = time.perf_counter()
base = rss()
predict, init = read_pair([sys.argv[1], sys.argv[2]])
t2 = time.perf_counter()
proto, weights = build_model(predict, init, 17, {})
t3 = time.perf_counter()
check_exported(proto, weights)
save_streaming(proto, weights, sys.argv[3])
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "convert": t3 - t2, "save": t4 - t3, "base": base,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "weights": sum(a.nbytes for _, a in weights), "nodes": len(proto.graph.node),
                  "caffe2_importable": importlib.util.find_spec("caffe2") is not None}))
"""


def run_process(argv: list, env: dict, out: Path) -> dict:
    """Run ``argv`` once (``out`` removed first): its wall time, peak RSS and last JSON line, if any."""
    out.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS), not all children's
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        text, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    if code != 0 or not out.exists():
        return {"error": (err.strip().splitlines() or [f"exit code {code}"])[-1]}
    result = {"wall": wall, "process_peak": usage.ru_maxrss * 1024}
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


def ensure_caffe2() -> str | None:
    """The caffe2 runtime's python, installing the runtime when missing; None when it cannot be had."""
    from onnxhub.home import runtime_dir, runtime_installed
    from onnxhub.testing import INSTALL_TIMEOUT, run_cli

    if not runtime_installed("caffe2"):
        print("the caffe2 runtime is not installed: installing it (onnxhub runtime install caffe2)...", flush=True)
        r = run_cli("runtime", "install", "caffe2", timeout=INSTALL_TIMEOUT)
        if r.returncode != 0 or not runtime_installed("caffe2"):
            tail = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
            print(f"SKIPPED: the caffe2 runtime (torch 1.10.2, CPython 3.9) is not available: {tail}")
            return None
    return str(runtime_dir("caffe2") / "bin" / "python")


def build_resnet50(folder: Path) -> None:
    from onnxhub.testing import runtime_worker

    with runtime_worker("caffe2", SIDE, {"OMP_NUM_THREADS": "1"}) as worker:
        worker.call("build", {"name": "resnet50", "folder": str(folder), "seed": 5, "batch": 1, "style": "plain"},
                    timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")),
                        help="rounds of fresh processes, one per side each (default 5, or $BENCH_RUNS)")
    parser.add_argument("--workdir", type=Path, help="folder for the nets (built once, reused), the frontend's "
                                                     "onnx and the outputs; default: a temporary folder")
    args = parser.parse_args()
    py = ensure_caffe2()
    if py is None:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        nets = work / "resnet50"
        predict, init = nets / "predict_net.pb", nets / "init_net.pb"
        if not init.exists():
            print("building ResNet-50 in Caffe2 (once)...", flush=True)
            build_resnet50(nets)
        site = work / "frontend-site"
        if not (site / "onnx").is_dir():
            print("installing onnx==1.17.0 for Caffe2's frontend into the work folder (once)...", flush=True)
            subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), "onnx==1.17.0"],
                           check=True)
        base_env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "ONNXHUB_HOME": os.environ["ONNXHUB_HOME"]}
        sides = {
            "caffe2": ([py, "-c", CAFFE2_CODE, str(predict), str(init), str(work / "caffe2.onnx")],
                       work / "caffe2.onnx", dict(base_env, PYTHONPATH=str(site))),
            "hub": ([sys.executable, "-c", HUB_CODE, str(predict), str(init), str(work / "hub.onnx")],
                    work / "hub.onnx", base_env),
            "cli": ([sys.executable, "-m", "onnxhub", "export", str(predict), str(init), "-o", str(work / "cli.onnx")],
                    work / "cli.onnx", base_env),
        }
        results = {name: [] for name in sides}
        for i in range(args.runs + 1):  # the first round warms the file cache and is not counted
            for name, (argv, out, env) in sides.items():
                r = run_process(argv, env, out)
                if "error" in r:
                    print(f"{name} FAILED: {r['error']}")
                    return 1
                if i:
                    results[name].append(r)
        return report(init, results)


def report(init: Path, results: dict) -> int:
    c2, hub, cli = results["caffe2"], results["hub"], results["cli"]
    size = init.stat().st_size

    def col(rows, key):
        return [r[key] for r in rows]

    def line(label, values, unit="s"):
        print(f"    {label:44s} min {min(values):6.3f} {unit}   median {statistics.median(values):6.3f} {unit}")

    c2_conv = [r["read"] + r["convert"] + r["save"] for r in c2]
    hub_conv = [r["read"] + r["convert"] + r["save"] for r in hub]
    print(f"ResNet-50 (caffe2.python.models.resnet, {hub[0]['nodes']} ONNX nodes): init_net.pb {size / 1e6:.1f} MB, "
          f"{hub[0]['weights'] / 1e6:.1f} MB of weights; {len(hub)} runs per row, fresh processes, sides interleaved")
    print(f"  Caffe2 frontend (opset {c2[0]['opset']}, fixed batch), in the caffe2 runtime")
    line("import caffe2 + onnx", col(c2, "import"))
    line("parse NetDefs", col(c2, "read"))
    line("caffe2_net_to_onnx_model", col(c2, "convert"))
    line("serialize + write", col(c2, "save"))
    line("read + convert + save  [conversion]", c2_conv)
    line("whole process (exec to exit)", col(c2, "wall"))
    where = "Caffe2 importable here!" if hub[0]["caffe2_importable"] else "no Caffe2 in this interpreter"
    print(f"  onnxhub, caffe2 exporter (opset 17, dynamic batch), in-process ({where})")
    line("import onnxhub + plugin + onnx + numpy", col(hub, "import"))
    line("read NetDefs", col(hub, "read"))
    line("convert", col(hub, "convert"))
    line("check + streamed save", col(hub, "save"))
    line("read + convert + save  [conversion]", hub_conv)
    print("  onnxhub, command line: onnxhub export predict_net.pb init_net.pb -o out.onnx")
    line("whole process (exec to exit)", col(cli, "wall"))
    print("  speed-up = Caffe2 time / onnxhub time (median of per-round ratios [min - max]):")
    ok = True
    for label, ref, ours in (("conversion: frontend vs onnxhub read+convert+save", c2_conv, hub_conv),
                             ("whole process: frontend script vs `onnxhub export`", col(c2, "wall"), col(cli, "wall"))):
        paired = [r / o for r, o in zip(ref, ours)]
        med = statistics.median(paired)
        print(f"    {label:54s} {med:5.1f}x [{min(paired):.1f} - {max(paired):.1f}]   target >= 10: "
              f"{'OK' if med >= 10 else 'BELOW TARGET'}")
    peaks = col(cli, "process_peak")
    ratio = statistics.median(peaks) / size
    ok = ratio <= 1.5
    print(f"  peak RSS of `onnxhub export` {statistics.median(peaks) / 1e6:.0f} MB = {ratio:.2f}x the init_net "
          f"(target <= 1.5: {'OK' if ok else 'ABOVE TARGET'}); in-process peak "
          f"{statistics.median(col(hub, 'peak')) / 1e6:.0f} MB; Caffe2 frontend peak "
          f"{statistics.median(col(c2, 'process_peak')) / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
