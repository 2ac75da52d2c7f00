"""The worker bridge, end to end, on the test runtime (real CPython 3.6 + numpy 1.19.5)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from onnxhub.errors import WorkerCrashed
from onnxhub.runtime.bridge import RemoteError, Worker, WorkerRestarted, get_worker
from onnxhub.testing import run_cli

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64"]


@pytest.fixture
def worker(testrt):
    w = get_worker(testrt)
    yield w


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read()
    except FileNotFoundError:
        return False


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" in f.read()
    except FileNotFoundError:
        return False


def test_runtime_list_shows_the_install(testrt):
    r = run_cli("runtime", "list", "--json")
    assert r.returncode == 0, r.stderr
    row = next(x for x in json.loads(r.stdout) if x["name"] == "testrt")
    assert row["status"] == "installed" and row["python"] == ">=3.6,<3.7"
    assert "numpy==1.19.5" in row["packages"]
    assert os.path.exists(os.path.join(row["path"], "bin", "python"))


def test_install_is_idempotent(testrt):
    start = time.monotonic()
    r = run_cli("runtime", "install", "testrt")
    assert r.returncode == 0 and "already installed" in r.stderr
    assert time.monotonic() - start < 10


def test_runs_in_the_runtime_interpreter(worker):
    result, arrays = worker.call("echo", arrays={"x": np.zeros(2)})
    assert result == {"python": "3.6", "numpy": "1.19.5"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (), (0,), (2, 0, 3)])
def test_echo_every_dtype_and_shape(worker, dtype, shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 100).astype(dtype)
    _, out = worker.call("echo", arrays={"x": x})
    assert out["x"].dtype == x.dtype and out["x"].shape == x.shape
    np.testing.assert_array_equal(out["x"], x)


def test_non_contiguous_and_several_arrays(worker):
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T
    b = np.ones((4, 3), np.float32)
    result, out = worker.call("add", params={"scale": 2}, arrays={"a": a, "b": b})
    np.testing.assert_array_equal(out["sum"], a + 2 * b)


def test_remote_exception_keeps_the_worker(worker):
    pid_before = worker.call("pid")[0]["pid"]
    with pytest.raises(RemoteError, match="ValueError in runtime: bad value from the runtime: x") as info:
        worker.call("fail", params={"what": "x"})
    assert "Traceback" in info.value.remote_traceback and "handler" in info.value.remote_traceback
    assert worker.call("pid")[0]["pid"] == pid_before


def _fault(worker, method, timeout=30.0):
    old = worker.call("pid")[0]["pid"]
    start = time.monotonic()
    with pytest.raises(WorkerCrashed) as info:
        worker.call(method, timeout=timeout)
    elapsed = time.monotonic() - start
    assert not _alive(old) and not _zombie(old)
    new = worker.call("pid")[0]["pid"]  # the next call starts a fresh worker
    assert new != old
    return info.value, elapsed


def test_crash_is_worker_crashed_with_stderr_tail(worker):
    err, elapsed = _fault(worker, "crash")
    assert "exit code 7" in str(err) and "about to exit hard" in err.stderr_tail
    assert elapsed < 5


def test_segfault_is_worker_crashed(worker):
    err, elapsed = _fault(worker, "segfault")
    assert "signal 11" in str(err) and elapsed < 5


def test_hang_past_timeout_is_worker_crashed(worker):
    err, elapsed = _fault(worker, "hang", timeout=1.5)
    assert "did not answer within 1.5 s" in str(err)
    assert elapsed < 5


def test_malformed_frame_is_worker_crashed(worker):
    err, elapsed = _fault(worker, "garbage")
    assert "malformed frame" in str(err) and elapsed < 5


def test_unknown_method_is_a_remote_error(worker):
    with pytest.raises(RemoteError, match="no method 'nope'"):
        worker.call("nope")


def test_200_mb_round_trip(worker):
    x = np.arange(50 * 1024 * 1024, dtype=np.float32)  # 200 MiB
    x[::4096] = -1.5
    _, out = worker.call("echo", arrays={"x": x}, timeout=120)
    assert out["x"].nbytes == 200 * 1024 * 1024
    np.testing.assert_array_equal(out["x"], x)


def test_hub_exit_stops_the_worker(testrt, testrt_site):
    script = ("from onnxhub.runtime.bridge import get_worker\n"
              "print(get_worker('testrt').call('pid')[0]['pid'], flush=True)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.strip())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_killed_hub_leaves_no_worker(testrt, testrt_site):
    """Even a SIGKILLed hub leaves no worker: the worker exits on EOF of its stdin."""
    script = ("import time\nfrom onnxhub.runtime.bridge import get_worker\n"
              "print(get_worker('testrt').call('pid')[0]['pid'], flush=True)\ntime.sleep(60)\n")
    hub = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(hub.stdout.readline())
    hub.kill()
    hub.wait()
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_worker_without_runtime_python_is_clear_error(tmp_path):
    from onnxhub.errors import RuntimeNotInstalled

    w = Worker(tmp_path / "missing" / "python", name="ghost")
    with pytest.raises(RuntimeNotInstalled, match="cannot start the ghost worker"):
        w.call("ping")


def test_runtime_side_files_are_valid_python_36(testrt):
    """Everything a runtime imports from onnxhub runs inside CPython 3.6 runtimes (CNTK): compile it with one."""
    import onnxhub
    from onnxhub.home import runtime_dir

    root = Path(onnxhub.__file__).parent
    files = sorted((root / "runtime_side").glob("*.py")) + [root / "optable.py", root / "errors.py"]
    py36 = runtime_dir(testrt) / "bin" / "python"
    code = "import sys\nfor path in sys.argv[1:]:\n    compile(open(path).read(), path, 'exec')\n"
    r = subprocess.run([str(py36), "-c", code, *map(str, files)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_handler_is_imported_by_name_with_onnxhub_as_a_bare_package(worker):
    """No sys.path edit, and onnxhub/__init__.py (which imports pluggy) never runs in a runtime."""
    result = worker.call("imports")[0]
    assert result == {"onnxhub_init_ran": False, "pluggy": False, "handler_dir_on_path": False,
                      "name": "onnxhub_testrt_handler"}


def test_a_call_for_an_earlier_process_is_refused_unsent(worker):
    generation = worker.ensure()
    pid = worker.call("pid", generation=generation)[0]["pid"]
    worker.stop()
    with pytest.raises(WorkerRestarted):
        worker.call("pid", generation=generation)
    assert worker.generation == generation + 1 and worker.call("pid")[0]["pid"] != pid


def test_releases_go_with_the_next_call_and_stale_ones_are_dropped(worker):
    generation = worker.ensure()
    calls = []
    worker.release("fail", {"what": "sent"}, generation)  # its RemoteError is swallowed
    worker.release("crash", {}, generation - 1)  # an earlier process's: never sent
    real = worker._exchange

    def spy(method, *args):
        calls.append(method)
        return real(method, *args)

    worker._exchange = spy
    try:
        worker.call("pid")
    finally:
        del worker._exchange
    assert calls == ["fail", "pid"] and not worker._released and worker.generation == generation


def test_onnxhub_errors_come_back_as_the_same_class_with_their_fields(worker):
    from onnxhub.errors import UnsupportedOperator

    with pytest.raises(UnsupportedOperator) as info:
        worker.call("load_plan", {"plan": {"nodes": [{"op": "Neg", "inputs": ["x"], "outputs": ["y"], "attrs": {}}],
                                           "opset": 13, "inputs": ["x"], "outputs": ["y"]}})
    assert type(info.value) is UnsupportedOperator and info.value.op_type == "Neg" and info.value.opset == 13
    assert str(info.value) == "unsupported operator Neg at opset 13 in the test runtime"


def test_reentrant_call_is_refused_not_deadlocked(worker):
    """A call from inside a call (e.g. a __del__ run by GC mid-call) must fail fast, not hang."""
    import threading

    worker._owner = threading.get_ident()  # as if this thread were inside call()
    try:
        with pytest.raises(RuntimeError, match="re-entrant call"):
            worker.call("pid", timeout=5)
    finally:
        worker._owner = None
    assert worker.call("pid")[0]["pid"] > 0


def test_a_framework_message_that_starts_with_its_trace_shows_its_error_line_first():
    # MXNet 1.9.1 puts its C++ trace into the exception's message (#27 item 10)
    mx = ("Traceback (most recent call last):\n  File \"../src/storage/./cpu_device_storage.h\", line 72\n"
          "MXNetError: Failed to allocate CPU Memory")
    first = str(RemoteError("MXNetError", mx, "")).splitlines()[0]
    assert first == "MXNetError in runtime: Failed to allocate CPU Memory"
    assert str(RemoteError("ValueError", "plain\nsecond", "")).splitlines()[0] == "ValueError in runtime: plain"
