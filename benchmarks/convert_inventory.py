"""Inventory conversion: `onnxhub convert FOLDER -j 1` against `-j 2`, in the same run.

Writes an inventory of small MXNet models in pure Python (``onnxhub_mxnet.samples``: a
convolutional classifier of 2-6 Conv+BatchNorm+ReLU blocks, residual adds, pooling and
a classifier; no MXNet needed to write them), then converts the whole inventory twice
through the command line, each time into a fresh folder: with ``-j 1`` and with ``-j 2``
worker processes. Prints both wall times and their ratio; target (issue 18): below 0.6
with 2 cores. A control follows: the same ratio for plain CPU-bound processes, i.e. the best
``-j 2`` can do on the machine at that moment (other work on a shared machine takes cores).

By default each model is converted MXNet -> MXNet *and verified* (``--verify``: the
source files and the converted files each run once by real MXNet 1.9.1 in its runtime,
on the same seeded input), which is the work of a real migration; this needs the mxnet
runtime (``onnxhub runtime install mxnet``). ``--no-verify`` measures the conversion
alone (pure Python: each model takes tens of milliseconds, so worker start-up weighs
more). The run's reports stay in ``--keep DIR`` if given.

    python benchmarks/convert_inventory.py [--models 30] [--size 224] [--channels 64] [--to mxnet|onnx]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def convert(src: Path, out: Path, jobs: int, args) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", "mxnet", "--to", args.to, "-o", str(out),
           "-j", str(jobs), "--json"] + (["--verify"] if args.verify else [])
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if r.returncode not in (0, 1):
        sys.exit(f"onnxhub convert -j {jobs} failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return seconds, json.loads(r.stdout)


SPIN = "x = 0\nfor i in range(15_000_000):\n    x += i\n"


def headroom() -> float:
    """Control: wall time of 2 CPU-bound processes (one unit each) over 2x that of one, on this machine now.

    0.5 when two cores are free, 1.0 when only one is (other work on the machine): the best
    ratio ``-j 2`` can reach at the moment.
    """
    def wall(n: int) -> float:
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
        for p in procs:
            p.wait()
        return time.perf_counter() - start

    return wall(2) / (2 * wall(1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=30, help="models in the inventory (default 30)")
    p.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    p.add_argument("--channels", type=int, default=64, help="channels of each convolution (default 64)")
    p.add_argument("--to", default="mxnet", help="target: mxnet or onnx (default mxnet)")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="convert only (no MXNet needed)")
    p.add_argument("--keep", metavar="DIR", help="write the inventory and both outputs here (a new folder)")
    args = p.parse_args(argv)
    from onnxhub_mxnet.samples import write_inventory

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="onnxhub-inventory-bench-"))
    try:
        src = work / "inventory"
        write_inventory(src, args.models, channels=args.channels, size=args.size)
        size = sum(f.stat().st_size for f in src.iterdir())
        print(f"inventory: {args.models} MXNet models ({size / 1e6:.1f} MB) in {src}; "
              f"mxnet -> {args.to}{' --verify' if args.verify else ''}; {os.cpu_count()} CPUs")
        results = {}
        for jobs in (1, 2):
            load = os.getloadavg()[0]
            seconds, report = convert(src, work / f"out-j{jobs}", jobs, args)
            results[jobs] = seconds
            # Sum of the models' own seconds over the wall time: how many were in flight on average.
            # Near 2 with -j 2 while the ratio stays near 1 means the CPUs were busy with other work.
            busy = sum(m["seconds"] or 0 for m in report["models"]) / max(report["seconds"], 1e-9)
            print(f"-j {jobs}: {seconds:7.2f} s  ({report['ok']} ok, {report['mismatch']} mismatch, "
                  f"{report['failed']} failed of {report['total']}; {busy:.2f} models in flight on average; "
                  f"load average before {load:.1f})")
            if report["ok"] != report["total"]:
                bad = next(m for m in report["models"] if m["status"] != "ok")
                print(f"  first problem: {bad['name']}: {bad['status']} {bad['error'] or ''}")
        ratio = results[2] / results[1]
        print(f"ratio -j 2 / -j 1: {ratio:.2f} (target < 0.6)")
        print(f"control, the same ratio for two CPU-bound processes against one: {headroom():.2f} "
              "(0.5: two cores free; 1.0: one)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
