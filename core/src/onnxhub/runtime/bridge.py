"""The hub side of a runtime worker: start it lazily, call it, survive its faults.

One long-lived worker per runtime per hub process (``get_worker``). A worker that
exits, is killed, hangs past the call's timeout, or writes a malformed frame raises
``WorkerCrashed`` with the tail of its stderr; it is reaped (no zombie) and the next
call starts a fresh one. Hub exit stops every worker.

Handles (plans, executors...) live in one worker *process*: ``Worker.generation``
counts the processes started, a call made with ``generation=`` refuses to reach a
later process (``WorkerRestarted``), and ``release`` queues the freeing of a handle
for the next call, dropping it unsent if that process is gone.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import itertools
import os
import selectors
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .. import errors
from ..errors import OnnxHubError, RuntimeNotInstalled, WorkerCrashed
from ..runtime_side import worker as protocol

WORKER_SCRIPT = Path(protocol.__file__)


class RemoteError(OnnxHubError):
    """The handler raised inside the runtime; the worker itself is still healthy."""

    def __init__(self, type_name: str, message: str, remote_traceback: str):
        self.type_name, self.remote_traceback = type_name, remote_traceback
        message = framework_message(message)
        super().__init__(f"{type_name} in runtime: {message.removeprefix(f'{type_name}: ')}")


def framework_message(message: str) -> str:
    """The line that says what went wrong, first.

    MXNet's errors carry their C++ trace in the message itself: ``Traceback (most recent call
    last):``, frame lines, then ``MXNetError: Failed to allocate CPU Memory``. A one-line error
    would show only the first line, so the last line that is no frame goes first.
    """
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Traceback (most recent call last)"):
        return message
    for line in reversed(lines):
        if not line[0].isspace() and not line.startswith(("Traceback", "Stack trace", "[bt]")):
            return "\n".join([line, *lines])
    return message


class WorkerRestarted(OnnxHubError):
    """A call was meant for a worker process that has since been replaced; nothing was sent."""


def remote_error(err: dict) -> OnnxHubError:
    """What a handler raised, raised again here.

    An ``onnxhub.errors`` class (the worker sends its name and fields) comes back as
    the same local class with the same fields, so callers catch ``UnsupportedOperator``
    and read ``exc.op_type``; anything else is a ``RemoteError``.
    """
    cls = getattr(errors, err.get("class") or "", None)
    if isinstance(cls, type) and issubclass(cls, OnnxHubError):
        exc = cls.__new__(cls)  # no constructor: the message and fields are the runtime's
        exc.args = (err.get("message", ""),)
        vars(exc).update(err.get("fields") or {})
        exc.remote_traceback = err.get("traceback", "")
        return exc
    return RemoteError(err.get("type", "Error"), err.get("message", ""), err.get("traceback", ""))


class Worker:
    """A worker process in ``python`` serving ``handler``.

    ``handler`` is a module name (its top-level package is looked up in ``folders``,
    by default where this interpreter finds it) or the path of a single ``.py`` file.
    """

    def __init__(self, python, handler=None, env=None, name="runtime", folders=None):
        self.python, self.name = str(python), name
        self.handler, self.folders = _handler_args(handler, folders)
        self.env = dict(env or {})
        self.proc = None
        self.generation = 0  # worker processes started so far; handles belong to one
        self._stderr = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._owner = None  # thread id inside call(), to refuse re-entrant calls
        self._released = collections.deque()  # (generation, method, params) for the next call

    # -- process lifecycle ---------------------------------------------------------
    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.stop()
        self._stderr = tempfile.TemporaryFile()
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        env.update(self.env)
        argv = [self.python, "-I", str(WORKER_SCRIPT)] + ([self.handler, *self.folders] if self.handler else [])
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                         env=env, bufsize=0)
        except OSError as exc:
            raise RuntimeNotInstalled(f"cannot start the {self.name} worker ({self.python}): {exc}") from exc
        self.generation += 1
        for stream in (self.proc.stdin, self.proc.stdout):
            os.set_blocking(stream.fileno(), False)
            _grow_pipe(stream.fileno())

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=2)  # EOF on stdin makes a healthy worker exit by itself
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr_tail(self, limit: int = 2000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, io.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - limit))
        return self._stderr.read().decode("utf-8", "replace")

    # -- calls -----------------------------------------------------------------------
    def call(self, method: str, params: dict | None = None, arrays: dict | None = None, timeout: float = 600.0,
             generation: int | None = None):
        """Run ``method`` in the runtime; return ``(result, {key: array})``.

        With ``generation``, the call is about handles of that worker process: if another
        process runs now, ``WorkerRestarted`` is raised and nothing is sent.

        Calls are serialized; a call made while the same thread is inside one (say, from a
        ``__del__`` that garbage collection ran mid-call) would interleave frames on the
        pipe, so it is refused instead of deadlocking.
        """
        with self._locked(method):
            deadline = time.monotonic() + timeout
            self.start()
            self._drain(deadline, timeout)
            if generation is not None and generation != self.generation:
                raise WorkerRestarted(f"the {self.name} worker restarted (process {generation} -> {self.generation})")
            return self._exchange(method, params, arrays, deadline, timeout)

    def ensure(self) -> int:
        """Start the worker if it is not running; return its generation (for ``call(generation=)``)."""
        with self._locked("start"):
            self.start()
            return self.generation

    def release(self, method: str, params: dict, generation: int) -> None:
        """Queue ``method(params)``, which frees a handle of process ``generation``, for the next call.

        Only appends, so ``__del__`` may call it. When the next call comes, a release for
        an earlier process is dropped unsent: that handle is gone with its process, and
        its id may name a live handle of the new one.
        """
        self._released.append((generation, method, params))

    @contextlib.contextmanager
    def _locked(self, method):
        if self._owner == threading.get_ident():
            raise RuntimeError(f"re-entrant call to the {self.name} worker ({method!r}) from inside another call")
        with self._lock:
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None

    def _drain(self, deadline, timeout) -> None:
        while self._released:
            generation, method, params = self._released.popleft()
            if generation != self.generation:
                continue
            try:
                self._exchange(method, params, None, deadline, timeout)
            except OnnxHubError:
                self.start()  # a crash here is the next call's fresh worker, not the caller's error

    def _exchange(self, method, params, arrays, deadline, timeout):
        rid = next(self._ids)
        arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
        try:
            chunks = protocol.frame_chunks({"id": rid, "method": method, "params": params or {},
                                            "arrays": list(arrays)}, arrays.values())
            self._send(chunks, deadline)
            header, out = protocol.read_frame(self._reader(deadline))
            if header.get("id") != rid:
                raise protocol.FrameError(f"reply id {header.get('id')!r} for request {rid}")
        except (TimeoutError, EOFError, OSError, protocol.FrameError) as exc:
            raise self._crashed(exc, timeout) from None
        if not header.get("ok"):
            raise remote_error(header.get("error") or {})
        return header.get("result") or {}, out

    def _send(self, chunks, deadline) -> None:
        fd = self.proc.stdin.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_WRITE)
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                while view:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        raise TimeoutError
                    try:
                        n = os.write(fd, view[: 1 << 20])
                    except BlockingIOError:
                        continue
                    view = view[n:]

    def _reader(self, deadline):
        raw = self.proc.stdout  # unbuffered FileIO
        sel = selectors.DefaultSelector()
        sel.register(raw.fileno(), selectors.EVENT_READ)

        def read_into(view):
            pos, n = 0, len(view)
            while pos < n:
                got = raw.readinto(view[pos:])  # non-blocking: None when the pipe is empty
                if got is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        raise TimeoutError
                    continue
                if not got:
                    raise EOFError
                pos += got

        return read_into

    def _crashed(self, exc, timeout) -> WorkerCrashed:
        proc = self.proc
        if isinstance(exc, TimeoutError):
            what = f"{self.name} worker did not answer within {timeout:g} s and was killed"
            proc.kill()
        elif isinstance(exc, protocol.FrameError):
            what = f"{self.name} worker wrote a malformed frame ({exc}) and was stopped"
            proc.kill()
        else:
            try:
                code = proc.wait(timeout=2)
                how = f"signal {-code}" if code < 0 else f"exit code {code}"
            except subprocess.TimeoutExpired:
                proc.kill()
                how = "a broken pipe"
            what = f"{self.name} worker died ({how})"
        proc.wait()
        tail = self.stderr_tail()
        self.stop()
        lines = [ln for ln in tail.splitlines() if ln.strip()]
        return WorkerCrashed(what, "\n".join(lines[-5:]))


def _grow_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe buffer: 16x fewer system calls on large arrays."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # not Linux, or above /proc/sys/fs/pipe-max-size: the default still works


_workers: dict[str, Worker] = {}


def get_worker(runtime: str) -> Worker:
    """The worker of an installed runtime, shared within this process."""
    from ..home import runtime_dir, runtime_installed, runtime_interpreter_problem
    from ..registry import get_registry
    from ..specs import RuntimeSpec

    if runtime not in _workers:
        spec: RuntimeSpec = get_registry().get("runtime", runtime).spec
        if not runtime_installed(runtime):
            raise RuntimeNotInstalled(f"runtime {runtime!r} is not installed; run: onnxhub runtime install {runtime}")
        problem = runtime_interpreter_problem(runtime)
        if problem:
            raise RuntimeNotInstalled(problem)
        _workers[runtime] = Worker(runtime_dir(runtime) / "bin" / "python", spec.handler, dict(spec.env),
                                   name=runtime)
    return _workers[runtime]


def _handler_args(handler, folders) -> tuple[str | None, list[str]]:
    """The worker's command-line arguments for ``handler``: its module name and the folders of its package."""
    if handler is None:
        return None, []
    if isinstance(handler, os.PathLike) or str(handler).endswith(".py"):
        path = Path(handler).resolve()
        return path.stem, [str(path.parent)]
    return str(handler), [str(f) for f in folders] if folders is not None else handler_folders(str(handler))


def handler_folders(module: str) -> list[str]:
    """The folders holding the top-level package of handler ``module`` (its parents are imported here)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except ImportError:
        spec = None
    if spec is None or not spec.origin:
        raise RuntimeNotInstalled(f"handler module {module!r} is not installed")
    top = importlib.util.find_spec(module.split(".")[0])
    if top.submodule_search_locations is not None:
        return [str(Path(p).parent) for p in top.submodule_search_locations]
    return [str(Path(top.origin).parent)]


@atexit.register
def stop_all() -> None:
    for w in list(_workers.values()):
        w.stop()
