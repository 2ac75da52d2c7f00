"""Fixtures: real MXNet 1.9.1 in its runtime, driven through onnxhub's worker bridge."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent.parent


def pytest_configure(config):
    os.environ.setdefault("ONNXHUB_HOME", str(REPO / ".onnxhub-home"))


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "onnxhub", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def mxnet():
    """A worker in the MXNet runtime running ``mxnet_side.py``; installs the runtime when missing."""
    from onnxhub.home import runtime_dir, runtime_installed
    from onnxhub.pytest_plugin import missing_runtime
    from onnxhub.runtime.bridge import Worker

    if not runtime_installed("mxnet"):
        r = run_cli("runtime", "install", "mxnet", timeout=1800)
        if r.returncode != 0:
            missing_runtime(f"runtime 'mxnet' is not installed and installing failed: {r.stderr.strip()[-300:]}")
    worker = Worker(runtime_dir("mxnet") / "bin" / "python", HERE / "mxnet_side.py", {"OMP_NUM_THREADS": "1"},
                    name="mxnet")
    yield worker
    worker.stop()


def run_onnx(model, feeds: dict) -> list:
    """ONNX Runtime on the exported model (the judge), falling back to nothing: it is a test dependency."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def assert_close(got, want, rtol=1e-3, atol=1e-4, what="output"):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != MXNet's {want.shape}"
    np.testing.assert_allclose(got, want.astype(got.dtype), rtol=rtol, atol=atol, err_msg=what)
