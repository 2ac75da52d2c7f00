"""Fixtures: real MXNet 1.9.1 in its runtime, driven through onnxhub's worker bridge."""

import os
from pathlib import Path

from onnxhub.testing import runtime_worker_fixture

HERE = Path(__file__).parent
REPO = HERE.parent.parent.parent


def pytest_configure(config):
    os.environ.setdefault("ONNXHUB_HOME", str(REPO / ".onnxhub-home"))


mxnet = runtime_worker_fixture("mxnet", HERE / "mxnet_side.py")  # the spec sets OMP_NUM_THREADS=1


def run_onnx(model, feeds: dict) -> list:
    """ONNX Runtime on the exported model (the judge), falling back to nothing: it is a test dependency."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)
