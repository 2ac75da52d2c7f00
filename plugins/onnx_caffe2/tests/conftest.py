"""Fixtures: real Caffe2 (torch 1.10.2) in its runtime (CPython 3.9), driven through onnxhub's worker bridge."""

import os
import sys
from pathlib import Path

from onnxhub.testing import runtime_worker_fixture

HERE = Path(__file__).parent
REPO = HERE.parent.parent.parent
sys.path.insert(0, str(HERE))  # netdef_bytes.py


def pytest_configure(config):
    os.environ.setdefault("ONNXHUB_HOME", str(REPO / ".onnxhub-home"))


caffe2 = runtime_worker_fixture("caffe2", HERE / "caffe2_side.py")
