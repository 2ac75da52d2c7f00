"""Replays every case the fuzzing harness saved (``fuzz/corpus/TARGET/NAME/``).

Each case holds the mutant's files and a ``case.json`` with the ``onnxhub`` arguments and
the exit code it must give now that its bug is fixed. Every case runs in its own process
under an address-space limit (one of them once took 16 GB), in a folder of its own, and
must keep the harness's invariant: the expected exit code (0, 1 or 2), no traceback, one
stderr line on exit 2, and no file other than the inputs (plus the output on success).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"
CASES = sorted(p.parent for p in CORPUS.glob("*/*/case.json"))
NEEDS = {"mxnet": "onnxhub_mxnet", "import": "onnxhub_mxnet", "caffe2": "onnxhub_caffe2", "cntk": "onnxhub_cntk"}
LIMIT = 3 * 2**30


def _limit():  # in the child: a regression fails with MemoryError instead of taking the machine
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_the_corpus_is_there():
    assert CASES, f"no fuzz corpus under {CORPUS}"
    for case in CASES:
        spec = json.loads((case / "case.json").read_text())
        assert spec["expect_exit"] in (0, 1, 2), f"{case}: run python -m fuzz.campaign --replay --update"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_corpus_case(case, tmp_path):
    target = case.parent.name
    module = NEEDS.get(target)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    if target == "onnx" and "onnxruntime" in json.loads((case / "case.json").read_text())["argv"] \
            and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed")
    spec = json.loads((case / "case.json").read_text())
    folder = tmp_path / "case"
    shutil.copytree(case / "files", folder)
    inputs = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = subprocess.run([sys.executable, "-m", "onnxhub", *spec["argv"]], cwd=folder, capture_output=True, text=True,
                       preexec_fn=_limit, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=600)
    assert r.returncode == spec["expect_exit"], (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    if r.returncode == 2:
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    outputs = {"out.npz", "out.onnx"} if r.returncode == 0 else set()
    present = {p.name for p in folder.iterdir()}
    assert present - set(inputs) <= outputs, sorted(present - set(inputs))
    assert all((folder / n).read_bytes() == data for n, data in inputs.items()), "an input file changed"
