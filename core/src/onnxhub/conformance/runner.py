"""Run the ONNX backend test suite against one backend, in worker processes.

Each worker (``python -m onnxhub.conformance.worker``) loads the backend, builds the
suite, says it is ready, then runs one case at a time (``case.CaseRunner``). Start-up
has its own, generous limit (``startup_timeout``); a case's ``timeout`` counts from the
moment it is handed to a ready worker, so a slow start never fails a case. A case that
kills its worker, hangs past ``timeout`` or garbles the reply is recorded as failed
with the worker's stderr tail, and a fresh worker takes the next case, so every
collected case is counted. A worker that cannot start fails the case waiting for it;
after two failed starts in a row no more are tried and every case left fails with
the reason.
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import subprocess
import sys
import tempfile
import threading
import time

from .cases import Case, collect
from .report import OUTCOMES


class _Starts:
    """Start-ups shared by the workers of one run: the limit, and failures in a row."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.failed_in_a_row = 0
        self.given_up = None  # the reason, once two starts in a row failed
        self.lock = threading.Lock()

    def succeeded(self):
        with self.lock:
            self.failed_in_a_row = 0

    def failed(self, reason: str) -> str:
        with self.lock:
            self.failed_in_a_row += 1
            if self.failed_in_a_row >= 2 and self.given_up is None:
                self.given_up = f"not run: workers cannot start ({reason})"
        return reason


def _spec_env(backend: str) -> dict:
    """The ``BackendSpec.env`` of a registered backend (none for a module path such as ``pkg.backend:``)."""
    from ..registry import get_registry

    item = get_registry().items["backend"].get(backend)
    return dict(item.spec.env) if item is not None else {}


class _Worker:
    def __init__(self, backend: str, starts: _Starts):
        self.backend = backend
        self.starts = starts
        self.proc = None
        self.stderr = None
        self.buffer = b""

    def _start(self) -> str | None:
        """Start a worker and wait until it is ready; the reason it is not, if it is not."""
        if self.starts.given_up:
            return self.starts.given_up
        self._spawn()
        try:
            line = self._readline(self.starts.timeout)
            if json.loads(line) != {"ready": True}:
                raise ValueError(f"expected the ready line, got {line[:80]!r}")
        except (OSError, ValueError, TimeoutError, EOFError) as exc:
            return self.starts.failed("worker start-up failed: " + self._fault(exc, self.starts.timeout))
        self.starts.succeeded()
        return None

    def _spawn(self):
        self.stderr = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        env.update(_spec_env(self.backend))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "onnxhub.conformance.worker", self.backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
        )
        self.buffer = b""

    def stderr_tail(self, limit=400) -> str:
        if not self.stderr:
            return ""
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 4000))
        lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-limit:]

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None
        if self.stderr:
            self.stderr.close()
            self.stderr = None

    def run(self, case: Case, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            failure = self._start()
            if failure:
                return {"name": case.name, "outcome": "failed", "seconds": 0.0, "message": failure}
        start = time.perf_counter()  # the case's deadline starts once a ready worker has it
        try:
            self.proc.stdin.write((json.dumps(case.__dict__) + "\n").encode())
            self.proc.stdin.flush()
            line = self._readline(timeout)
            reply = json.loads(line)
            if reply.get("name") != case.name:
                raise ValueError(f"reply for {reply.get('name')!r}")
            return reply
        except (OSError, ValueError, TimeoutError, EOFError) as exc:
            message = self._fault(exc, timeout)
            return {"name": case.name, "outcome": "failed", "seconds": time.perf_counter() - start,
                    "message": message}

    def _fault(self, exc, timeout) -> str:
        if isinstance(exc, TimeoutError):
            what = f"timed out after {timeout:g} s; worker killed"
        elif self.proc.poll() is not None or isinstance(exc, EOFError):
            self.proc.wait()
            code = self.proc.returncode
            what = f"worker crashed ({'signal ' + str(-code) if code < 0 else 'exit code ' + str(code)})"
        else:
            what = f"worker wrote a malformed reply ({exc})"
        tail = self.stderr_tail()
        self.stop()
        return f"{what}; stderr: {tail}" if tail else what

    def _readline(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def run_suite(backend: str, *, pattern=None, jobs=1, device="cpu", timeout=300.0, startup_timeout=None,
              progress=False) -> dict:
    """Run every matching case; return the report dict (shape in docs/cli.md).

    ``timeout`` limits each case; ``startup_timeout`` (default ``max(600, timeout)``)
    limits a worker's start-up: Python, onnx, the backend, building the suite.
    """
    import math
    import re

    import onnx

    from .. import api
    from ..errors import UsageError

    if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise UsageError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    impl = api.get_backend(backend)  # fail fast, with the registry's message, on a bad name
    device = device.lower()
    if not impl.supports_device(device.upper()):
        raise UsageError(f"backend {backend!r} does not offer device {device!r} here")
    cases = collect(device, pattern)
    todo: queue.Queue = queue.Queue()
    for c in cases:
        todo.put(c)
    results: dict[str, dict] = {}
    lock = threading.Lock()
    bar = _Progress(len(cases), backend, progress)

    starts = _Starts(max(600.0, timeout) if startup_timeout is None else startup_timeout)

    def work():
        worker = _Worker(backend, starts)
        try:
            while True:
                try:
                    case = todo.get_nowait()
                except queue.Empty:
                    return
                reply = worker.run(case, timeout)
                reply.update(kind=case.kind, op=case.op)
                with lock:
                    results[case.name] = reply
                    bar.advance(reply["outcome"])
        finally:
            worker.stop()

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(jobs, len(cases)) or 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        bar.close()
    ordered = [results[c.name] for c in cases]
    counts = {k: sum(r["outcome"] == k for r in ordered) for k in OUTCOMES}
    total = len(ordered)
    return {
        "backend": backend,
        "device": device,
        "onnx_version": onnx.__version__,
        "expectations": expectation_versions(),
        "total": total,
        **counts,
        "pass_rate": round(counts["passed"] / total, 6) if total else 0.0,
        "seconds": round(time.perf_counter() - started, 2),
        "cases": [
            {"name": r["name"], "kind": r["kind"], "op": r["op"], "outcome": r["outcome"],
             "seconds": round(r["seconds"], 4), "message": r["message"]}
            for r in ordered
        ],
    }


# The packages that compute the suite's expected outputs: onnx generates its node cases when
# they are collected, with numpy and ml_dtypes (the narrow integer and float types).
EXPECTATION_PACKAGES = ("onnx", "numpy", "ml_dtypes")


def expectation_versions() -> dict:
    """``{package: version}`` of the packages that computed this run's expected outputs."""
    from importlib import metadata

    versions = {}
    for name in EXPECTATION_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class _Progress:
    """A rich progress bar on a terminal; a line every 10 % otherwise."""

    def __init__(self, total: int, backend: str, rich: bool):
        self.total, self.done, self.failed, self.rich = total, 0, 0, rich
        self.backend = backend
        if rich:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task(f"{backend}: conformance", total=total)
            self.bar.start()

    def advance(self, outcome: str):
        self.done += 1
        self.failed += outcome == "failed"
        if self.rich:
            self.bar.update(self.task, advance=1, description=f"{self.backend}: {self.failed} failed")
        elif self.total and self.done * 10 // self.total != (self.done - 1) * 10 // self.total:
            sys.stderr.write(f"{self.backend}: {self.done}/{self.total} cases, {self.failed} failed\n")

    def close(self):
        if self.rich:
            self.bar.stop()
