"""CNTK -> ONNX export: onnxhub (pure Python, no CNTK) against CNTK 2.7's own load + ONNX save.

A ResNet-50 v1 at ImageNet size (25.5 M parameters, about 98 MiB of weights), built with
``cntk.layers`` and saved by CNTK in its runtime (once; cached in ``--workdir``), then
converted to ONNX by both sides, each in a fresh process per run, runs interleaved so that
machine load hits both alike:

- CNTK: ``cntk.load_model`` + ``Function.save(format=ModelFormat.ONNX)`` in the cntk
  runtime (CPython 3.6); ``import cntk``, load and save timed separately.
- onnxhub in-process: the cntk exporter's read (``formats.model.read_model``), convert
  (``build_model``) and streamed save (``modelio.check_exported`` + ``save_streaming``), in
  this interpreter, where CNTK is not installed; imports done before the clock starts.
- whole process, both sides: wall time of the complete command, from exec to exit
  (``python -c`` CNTK script vs ``onnxhub export model.model -o out.onnx``).

Targets (issue 13): onnxhub >= 5x faster than CNTK's load + save; onnxhub's peak RSS above
its post-import baseline <= 1.5x the weights. Each of ``--runs`` rounds runs every side once;
a speed-up is the median of the per-round ratios (neighbouring runs share the machine's load),
shown with their range and the ratio of the medians. Needs the cntk runtime; when it is
missing and cannot be installed (``onnxhub runtime install cntk``), the benchmark says so
and exits 0.
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
SIDE = ROOT / "plugins" / "onnx_cntk" / "tests" / "cntk_side.py"
os.environ.setdefault("ONNXHUB_HOME", str(ROOT / ".onnxhub-home"))  # as the tests and noxfile.py default it

# Run in a fresh interpreter; prints one JSON line. t0 is taken once the interpreter is up.
PRELUDE = """
import json, resource, sys, time
t0 = time.perf_counter()
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))
"""
CNTK_CODE = PRELUDE + """
import warnings; warnings.simplefilter("ignore")
import cntk as C
t1 = time.perf_counter()
base = rss()
model = C.load_model(sys.argv[1])
t2 = time.perf_counter()
model.save(sys.argv[2], format=C.ModelFormat.ONNX)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "save": t3 - t2, "base": base,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""
HUB_CODE = PRELUDE + """
import importlib.util
import numpy, onnx
from onnxhub.modelio import check_exported, save_streaming
from onnxhub_cntk.export.exporter import build_model
from onnxhub_cntk.formats.model import read_model
t1 = time.perf_counter()
base = rss()
model = read_model(sys.argv[1])
t2 = time.perf_counter()
proto, weights = build_model(model, 17, {}, False, "resnet50")
t3 = time.perf_counter()
check_exported(proto, weights)
save_streaming(proto, weights, sys.argv[2])
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "convert": t3 - t2, "save": t4 - t3, "base": base,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "weights": sum(a.nbytes for _, a in weights), "nodes": len(proto.graph.node),
                  "cntk_importable": importlib.util.find_spec("cntk") is not None}))
"""


def run_process(argv: list, env: dict, out: Path) -> dict:
    """Run ``argv`` once (``out`` removed first): its wall time, peak RSS and last JSON line, if any."""
    out.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS), not all children's
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        text, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    if proc.returncode != 0 or not out.exists():
        return {"error": (err.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]}
    result = {"wall": wall, "process_peak": usage.ru_maxrss * 1024}
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


def ensure_cntk() -> str | None:
    """The cntk runtime's python, installing the runtime when missing; None when it cannot be had."""
    from onnxhub.home import runtime_dir, runtime_installed
    from onnxhub.testing import INSTALL_TIMEOUT, run_cli

    if not runtime_installed("cntk"):
        print("the cntk runtime is not installed: installing it (onnxhub runtime install cntk)...", flush=True)
        r = run_cli("runtime", "install", "cntk", timeout=INSTALL_TIMEOUT)
        if r.returncode != 0 or not runtime_installed("cntk"):
            tail = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
            print(f"SKIPPED: the cntk runtime (CNTK 2.7, CPython 3.6) is not available: {tail}")
            return None
    return str(runtime_dir("cntk") / "bin" / "python")


def build_resnet50(path: Path) -> None:
    """ResNet-50 with seeded random weights, saved by CNTK itself (``Function.save``)."""
    from onnxhub.testing import runtime_worker

    with runtime_worker("cntk", SIDE, {"OMP_NUM_THREADS": "1"}) as worker:
        worker.call("build", {"name": "resnet50", "path": str(path), "seed": 5, "batch": 1}, timeout=900)


def stats(values: list) -> tuple[float, float]:
    return min(values), statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "7")),
                        help="rounds of fresh processes, one per side each (default 7, or $BENCH_RUNS)")
    parser.add_argument("--workdir", type=Path, help="folder for resnet50.model (built once, reused) and the "
                                                     "outputs; default: a temporary folder")
    args = parser.parse_args()
    py = ensure_cntk()
    if py is None:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        model = work / "resnet50.model"
        if not model.exists():
            print("building ResNet-50 in CNTK (once)...", flush=True)
            staged = work / "resnet50.model.partial"
            build_resnet50(staged)
            staged.replace(model)
        env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "ONNXHUB_HOME": os.environ["ONNXHUB_HOME"]}
        sides = {
            "cntk": ([py, "-c", CNTK_CODE, str(model), str(work / "cntk.onnx")], work / "cntk.onnx"),
            "hub": ([sys.executable, "-c", HUB_CODE, str(model), str(work / "hub.onnx")], work / "hub.onnx"),
            "cli": ([sys.executable, "-m", "onnxhub", "export", str(model), "-o", str(work / "cli.onnx")],
                    work / "cli.onnx"),
        }
        results = {name: [] for name in sides}
        for i in range(args.runs + 1):  # the first round warms the file cache and is not counted
            for name, (argv, out) in sides.items():
                r = run_process(argv, env, out)
                if "error" in r:
                    print(f"{name} FAILED: {r['error']}")
                    return 1
                if i:
                    results[name].append(r)
        return report(model, results)


def report(model: Path, results: dict) -> int:
    cntk, hub, cli = results["cntk"], results["hub"], results["cli"]
    weights = hub[0]["weights"]
    n = len(hub)

    def col(rows, key):
        return [r[key] for r in rows]

    def line(label, values, unit="s"):
        lo, med = stats(values)
        print(f"    {label:40s} min {lo:6.3f} {unit}   median {med:6.3f} {unit}")

    cntk_conv = [r["load"] + r["save"] for r in cntk]
    hub_conv = [r["read"] + r["convert"] + r["save"] for r in hub]
    print(f"ResNet-50 (cntk.layers, {hub[0]['nodes']} ONNX nodes), {model.stat().st_size / 2**20:.1f} MiB .model, "
          f"{weights / 2**20:.1f} MiB of weights; {n} runs per row, each a fresh process, sides interleaved")
    print("  CNTK 2.7, in its runtime: cntk.load_model + save(format=ModelFormat.ONNX)")
    line("import cntk", col(cntk, "import"))
    line("load_model", col(cntk, "load"))
    line("save(ONNX)", col(cntk, "save"))
    line("load + save  [conversion]", cntk_conv)
    line("whole process (exec to exit)", col(cntk, "wall"))
    where = "CNTK importable here!" if hub[0]["cntk_importable"] else "no CNTK in this interpreter"
    print(f"  onnxhub, cntk exporter, in-process ({where})")
    line("import onnxhub + plugin + onnx + numpy", col(hub, "import"))
    line("read .model", col(hub, "read"))
    line("convert", col(hub, "convert"))
    line("check + streamed save", col(hub, "save"))
    line("read + convert + save  [conversion]", hub_conv)
    line("in-process script, whole process", col(hub, "wall"))
    print("  onnxhub, command line: onnxhub export resnet50.model -o out.onnx")
    line("whole process (exec to exit)", col(cli, "wall"))

    print("  speed-up = CNTK time / onnxhub time: median of the per-round ratios (sides run back to back, so "
          "they share the machine's load), [min - max], and the ratio of the medians:")
    for label, ref, ours, target in (
            ("conversion: CNTK load+save vs onnxhub read+convert+save", cntk_conv, hub_conv, 5),
            ("whole process: CNTK script vs `onnxhub export`", col(cntk, "wall"), col(cli, "wall"), 5)):
        paired = [r / o for r, o in zip(ref, ours)]
        med = statistics.median(paired)
        print(f"    {label:58s} {med:5.1f}x [{min(paired):.1f} - {max(paired):.1f}]  "
              f"{statistics.median(ref) / statistics.median(ours):.1f}x   target >= {target}: "
              f"{'OK' if med >= target else 'BELOW TARGET'}")

    hub_mem = [(r["peak"] - r["base"]) / weights for r in hub]
    cntk_mem = [(r["peak"] - r["base"]) / weights for r in cntk]
    print("  peak RSS above the post-import baseline, as a multiple of the weights (min; median):")
    print(f"    onnxhub in-process  {min(hub_mem):.2f}x; {statistics.median(hub_mem):.2f}x   target <= 1.5: "
          f"{'OK' if statistics.median(hub_mem) <= 1.5 else 'ABOVE TARGET'}  "
          f"(peak {statistics.median(col(hub, 'peak')) / 2**20:.0f} MiB)")
    print(f"    CNTK load + save    {min(cntk_mem):.2f}x; {statistics.median(cntk_mem):.2f}x   "
          f"(peak {statistics.median(col(cntk, 'peak')) / 2**20:.0f} MiB)")
    print(f"    whole processes' peak RSS: onnxhub export {statistics.median(col(cli, 'process_peak')) / 2**20:.0f} MiB, "
          f"CNTK {statistics.median(col(cntk, 'process_peak')) / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
