"""Fixtures: real CNTK 2.7 in its runtime (CPython 3.6), driven through onnxhub's worker bridge."""

import os
from pathlib import Path

from onnxhub.testing import runtime_worker_fixture

HERE = Path(__file__).parent
REPO = HERE.parent.parent.parent


def pytest_configure(config):
    os.environ.setdefault("ONNXHUB_HOME", str(REPO / ".onnxhub-home"))


cntk = runtime_worker_fixture("cntk", HERE / "cntk_side.py")
