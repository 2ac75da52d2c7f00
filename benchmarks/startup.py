"""Start-up cost of the command line, against Python itself and `import onnx`, in one run.

Target (issue 2): `onnxhub list-backends` at most 0.75x `python -c "import onnx"`.
Prints the median wall time of each command over N runs and the ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import onnx'": [sys.executable, "-c", "import onnx"],
    "onnxhub list-backends": [sys.executable, "-m", "onnxhub", "list-backends"],
    "onnxhub list-backends --json": [sys.executable, "-m", "onnxhub", "list-backends", "--json"],
    "onnxhub --help": [sys.executable, "-m", "onnxhub", "--help"],
}


def median_wall(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    for argv in COMMANDS.values():  # warm the file cache
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    medians = {name: median_wall(argv) for name, argv in COMMANDS.items()}
    onnx_time = medians["python -c 'import onnx'"]
    print(f"startup, median of {RUNS} runs ({sys.executable})")
    for name, t in medians.items():
        print(f"  {name:32s} {1000 * t:7.1f} ms   {t / onnx_time:5.2f}x import onnx")
    ratio = medians["onnxhub list-backends"] / onnx_time
    verdict = "OK" if ratio <= 0.75 else "ABOVE TARGET"
    print(f"list-backends / import onnx = {ratio:.2f} (target <= 0.75): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
