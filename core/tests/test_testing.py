"""``onnxhub.testing``: the helpers core, plugins and third parties test with."""

import subprocess
import sys

import numpy as np
import pytest

from onnxhub.testing import (
    assert_close,
    assert_matches_reference,
    assert_outputs_close,
    run_cli,
    runtime_worker,
    runtime_worker_fixture,
)

from conftest import make_model

ENV_HANDLER = """
import os


def env(params, arrays):
    return {name: os.environ.get(name) for name in params["names"]}
"""


def test_importing_it_is_light():
    code = "import sys, onnxhub.testing; print(sorted({'numpy', 'onnx', 'pytest', 'rich'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_run_cli_adds_to_the_environment(tmp_path):
    r = run_cli("list-backends", "--json", env={"ONNXHUB_PLUGINS": ""}, cwd=tmp_path)
    assert r.returncode == 0 and '"reference"' in r.stdout and '"onnxruntime"' not in r.stdout


def test_assert_close_checks_shape_dtype_and_values():
    x = np.array([1.0, 2.0, np.nan], np.float32)
    assert_close(x, x.copy())  # NaN equals NaN
    assert_close(x + 1e-6, x, rtol=0, atol=1e-5)
    with pytest.raises(AssertionError, match=r"out: shape \(3,\) != expected \(1, 3\)"):
        assert_close(x, x[None], what="out")
    with pytest.raises(AssertionError, match="out: dtype float32 != expected float64"):
        assert_close(x, x.astype(np.float64), what="out")
    assert_close(x, x.astype(np.float64), dtype=False)
    with pytest.raises(AssertionError, match="layer 3"):
        assert_close(x + 0.1, x, what="layer 3")
    with pytest.raises(AssertionError):
        assert_close(np.array([1, 2]), np.array([1, 3]), atol=10)  # integers are exact
    with pytest.raises(AssertionError, match=r"missing output\(s\) \['z'\]"):
        assert_outputs_close({"y": x}, {"y": x, "z": x}, what="mine")


def test_assert_matches_reference_returns_the_backend_outputs():
    model = make_model()
    got = assert_matches_reference("reference", model, {"x": np.ones((2, 4), np.float32)})
    assert got["y"].shape == (2, 3) and got["y"].dtype == np.float32


def test_runtime_worker_uses_the_runtime_spec_env_and_stops(testrt, tmp_path):
    handler = tmp_path / "env_handler.py"
    handler.write_text(ENV_HANDLER)
    with runtime_worker(testrt, handler, {"MINE": "1"}) as worker:
        result, _ = worker.call("env", params={"names": ["OMP_NUM_THREADS", "MINE"]})
        proc = worker.proc
    assert result == {"OMP_NUM_THREADS": "1", "MINE": "1"}  # the spec's env, then the caller's
    assert worker.proc is None and proc.poll() is not None


bare_testrt = runtime_worker_fixture("testrt", scope="module")  # no handler: the worker's built-in ping only


def test_runtime_worker_fixture_is_named_by_its_variable(testrt, bare_testrt):
    assert bare_testrt.call("ping")[0]["python"].startswith("3.6.")
