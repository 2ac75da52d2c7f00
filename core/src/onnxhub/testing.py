"""Test helpers for onnxhub, its plugins and third-party plugins alike.

```python
from onnxhub.testing import assert_close, assert_matches_reference, run_cli, runtime_worker_fixture

mxnet = runtime_worker_fixture("mxnet", HERE / "mxnet_side.py")    # in conftest.py

def test_cli(tmp_path):
    r = run_cli("export", "net-symbol.json", "net-0000.params", "-o", tmp_path / "net.onnx")
    assert r.returncode == 0, r.stderr

def test_matches(model):
    assert_matches_reference("myrt", model, rtol=1e-4, atol=1e-5)
```

Importing this module is cheap (no onnx, numpy, pytest or framework): each helper
imports what it needs when called, so a plugin's conftest can import it freely.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

CLI_TIMEOUT = 600  # a guard against hangs, not a speed check: generous on purpose
INSTALL_TIMEOUT = 1800  # building a runtime downloads and installs a framework


def run_cli(*args, env: dict | None = None, cwd=None, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``python -m onnxhub ARGS`` in a fresh process, as a user would.

    Arguments are ``str()``-ed (paths welcome). ``env`` is added to the current
    environment, not a replacement for it. Returns the ``CompletedProcess`` with
    ``stdout``/``stderr`` as text; it never raises on a non-zero exit code.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "onnxhub", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


def ensure_runtime(name: str, timeout: float = INSTALL_TIMEOUT) -> None:
    """Install runtime ``name`` through the CLI (``onnxhub runtime install``) when it is missing.

    When it cannot be installed, the calling test is skipped, or fails where
    ``ONNXHUB_REQUIRE_RUNTIMES=1`` (CI): ``onnxhub.pytest_plugin.missing_runtime``.
    """
    from .home import runtime_installed
    from .pytest_plugin import missing_runtime

    if runtime_installed(name):
        return
    r = run_cli("runtime", "install", name, timeout=timeout)
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or [f"exit code {r.returncode}"]
        missing_runtime(f"runtime {name!r} is not installed and installing it failed: {tail[0]}")


@contextmanager
def runtime_worker(runtime: str, handler=None, env: dict | None = None, *, install_timeout: float = INSTALL_TIMEOUT):
    """A worker process in runtime ``runtime`` serving the handler file ``handler``; stopped on exit.

    The runtime is installed first when missing (``ensure_runtime``). The worker's
    environment is the runtime spec's ``env`` plus ``env``. Yields an
    ``onnxhub.runtime.bridge.Worker``: ``worker.call(method, params, arrays)`` runs a
    function of the handler inside the runtime (real framework, its own Python).
    """
    from .home import runtime_dir
    from .registry import get_registry
    from .runtime.bridge import Worker

    ensure_runtime(runtime, timeout=install_timeout)
    full_env = dict(get_registry().get("runtime", runtime).spec.env)
    full_env.update(env or {})
    worker = Worker(runtime_dir(runtime) / "bin" / "python", handler, full_env, name=runtime)
    try:
        yield worker
    finally:
        worker.stop()


def runtime_worker_fixture(runtime: str, handler=None, env: dict | None = None, *, scope: str = "session"):
    """A pytest fixture yielding ``runtime_worker(runtime, handler, env)``; its name is the variable's.

    In ``conftest.py``: ``mxnet = runtime_worker_fixture("mxnet", HERE / "mxnet_side.py")``.
    """
    import pytest

    def fixture():
        with runtime_worker(runtime, handler, env) as worker:
            yield worker

    fixture.__doc__ = f"A worker in runtime {runtime!r} serving {handler}; installs the runtime when missing."
    return pytest.fixture(scope=scope)(fixture)


def assert_close(got, want, rtol: float = 1e-3, atol: float = 1e-4, what: str = "output", *, dtype: bool = True):
    """Assert ``got`` matches ``want``: same shape, same dtype, values within tolerance.

    Floating-point (and complex) values compare with ``|got - want| <= atol + rtol * |want|``,
    NaN equal to NaN; integers, booleans and strings must be equal. ``dtype=False``
    accepts any dtype and compares ``want`` cast to ``got``'s. ``what`` names the value
    in the message ("output 'y' of mxnet").
    """
    import numpy as np

    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != expected {want.shape}"
    if dtype:
        assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != expected {want.dtype}"
    else:
        want = want.astype(got.dtype)
    if np.issubdtype(got.dtype, np.inexact):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def assert_outputs_close(got: dict, want: dict, rtol: float = 1e-3, atol: float = 1e-4, what: str = "",
                         *, dtype: bool = True) -> None:
    """``assert_close`` per output of ``want`` (``{name: array}``); ``got`` must have each of them."""
    missing = sorted(set(want) - set(got))
    assert not missing, f"{what}: missing output(s) {missing}; got {sorted(got)}"
    for name, expected in want.items():
        assert_close(got[name], expected, rtol, atol, f"output {name!r}{' of ' + what if what else ''}", dtype=dtype)


def random_inputs(model, seed: int = 0, dims: dict[str, int] | None = None) -> dict:
    """Inputs made from the model's declared types and shapes (dynamic dims from ``dims``, else 1)."""
    from .inputs import random_inputs as _random
    from .modelio import load_model

    return _random(load_model(model, check=False), dims or {}, seed=seed)


def assert_matches_reference(backend: str, model, inputs: dict | None = None, *, rtol: float = 1e-4,
                             atol: float = 1e-5, device: str = "cpu", seed: int = 0) -> dict:
    """Run ``model`` on ``backend`` and on the reference backend; assert the outputs agree.

    Shapes and dtypes must match, values within ``rtol``/``atol`` (``assert_close``).
    Returns ``{output_name: array}`` from ``backend``. Inputs default to
    ``random_inputs(model, seed)``.
    """
    from . import api

    proto = api.load_model(model)
    feeds = inputs if inputs is not None else random_inputs(proto, seed)
    got = api.run(proto, dict(feeds), backend=backend, device=device, checked=True)
    want = api.run(proto, dict(feeds), backend="reference", checked=True)
    assert_outputs_close(got, want, rtol, atol, f"backend {backend!r} (vs reference)")
    return got
