"""pytest plugin shipped with onnxhub (entry point ``pytest11``).

``@pytest.mark.runtime("mxnet")`` marks a test that needs an installed runtime: it is
skipped with the install command when the runtime is missing, and fails instead when
``ONNXHUB_REQUIRE_RUNTIMES=1`` (CI), so a missing runtime can never pass as a skip.
"""

from __future__ import annotations

import os

import pytest


def require_runtimes() -> bool:
    return os.environ.get("ONNXHUB_REQUIRE_RUNTIMES", "") not in ("", "0")


def missing_runtime(reason: str) -> None:
    """Skip locally, fail in CI: the one rule for anything a test needs installed."""
    if require_runtimes():
        pytest.fail(f"{reason} (ONNXHUB_REQUIRE_RUNTIMES=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config):
    config.addinivalue_line("markers", "runtime(name): needs the named isolated framework runtime installed")


def pytest_runtest_setup(item):
    for mark in item.iter_markers(name="runtime"):
        from .home import runtime_installed

        name = mark.args[0]
        if not runtime_installed(name):
            missing_runtime(f"runtime {name!r} is not installed; run: onnxhub runtime install {name}")
