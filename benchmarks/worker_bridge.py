"""Worker bridge throughput and latency, in one run.

- round trip of a 1x3x224x224 float32 array (target: median <= 2 ms);
- round trip of a 100 MB array against a bare os.pipe copy of the same bytes in this
  process, into a freshly allocated buffer through a pipe of the same size (target:
  ratio <= 3). A round trip crosses two pipes and two processes, the bare copy one pipe.

Runs a worker on this interpreter, and also on the test runtime's CPython 3.6 when
it is installed ($ONNXHUB_HOME/runtimes/testrt, built by the core test suite).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from onnxhub.home import runtime_dir
from onnxhub.runtime.bridge import Worker, _grow_pipe

HANDLER = "def echo(params, arrays):\n    return dict(arrays)\n"


def pipe_copy(data: memoryview) -> float:
    r, w = os.pipe()
    _grow_pipe(w)  # the same 1 MiB pipe buffer the bridge asks for: a like-for-like baseline

    def drain():
        # Like the bridge, the receiver allocates a fresh buffer (np.empty: no zero fill).
        sink = np.empty(len(data), np.uint8)
        view, pos = memoryview(sink), 0
        while pos < len(sink):
            pos += os.readv(r, [view[pos:]])

    start = time.perf_counter()
    t = threading.Thread(target=drain)
    t.start()
    pos = 0
    while pos < len(data):
        pos += os.write(w, data[pos:])
    t.join()
    elapsed = time.perf_counter() - start
    os.close(r)
    os.close(w)
    return elapsed


def bench(label: str, python: str, handler: str) -> None:
    w = Worker(python, handler, name=label)
    try:
        small = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
        for _ in range(20):
            w.call("echo", arrays={"x": small})
        times = []
        for _ in range(300):
            t = time.perf_counter()
            w.call("echo", arrays={"x": small})
            times.append(time.perf_counter() - t)
        rt = statistics.median(times)
        big = np.ones(100 * 1000 * 1000 // 4, np.float32)
        w.call("echo", arrays={"x": big}, timeout=120)
        bridge, bare = [], []
        for _ in range(5):
            t = time.perf_counter()
            w.call("echo", arrays={"x": big}, timeout=120)
            bridge.append(time.perf_counter() - t)
            bare.append(pipe_copy(memoryview(big).cast("B")))
        b, p = statistics.median(bridge), statistics.median(bare)
        print(f"{label}:")
        print(f"  1x3x224x224 float32 round trip: median {1000 * rt:.3f} ms  (target <= 2 ms: "
              f"{'OK' if rt <= 0.002 else 'ABOVE TARGET'})")
        print(f"  100 MB round trip {1000 * b:.1f} ms vs bare os.pipe copy {1000 * p:.1f} ms: ratio {b / p:.2f} "
              f"(target <= 3: {'OK' if b / p <= 3 else 'ABOVE TARGET'})")
    finally:
        w.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        handler = Path(tmp) / "echo_handler.py"
        handler.write_text(HANDLER)
        bench(f"worker on this interpreter (Python {sys.version.split()[0]}, numpy {np.__version__})",
              sys.executable, str(handler))
        py36 = runtime_dir("testrt") / "bin" / "python"
        if py36.exists():
            bench("worker on the test runtime (CPython 3.6, numpy 1.19.5)", str(py36), str(handler))
        else:
            print(f"(test runtime not installed at {py36}; run the core tests to build it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
