"""pytest plugin shipped with onnxhub (entry point ``pytest11``).

- ``pytest --onnxhub-backend NAME [--onnxhub-k REGEX] [--onnxhub-device cpu]`` adds the
  ONNX backend conformance cases for that backend as pytest items, so a plugin's own
  CI checks conformance with one flag. A case runs exactly as in ``onnxhub
  test-backend`` (``conformance.case``), so both count the same passes, skips and
  failures. ``--onnxhub-xfail-unsupported`` reports the cases the backend refuses with
  ``UnsupportedOperator`` or ``UnsupportedModel`` (by exception class) as xfail: a partial backend then proves
  that all it claims passes and all else is refused cleanly.
  Each case's node id, ``onnx-conformance[NAME]::CASE`` as ``-v`` prints it, runs again as
  given: ``pytest "onnx-conformance[NAME]::test_abs_cpu"`` (the suite's node id alone runs
  every case). ``--onnxhub-k REGEX`` picks cases before they are made, faster than ``-k``.
  An unknown ``--onnxhub-backend`` is a one-line usage error naming the installed backends.
- ``@pytest.mark.runtime("mxnet")`` marks a test that needs an installed runtime: it
  is skipped with the install command when the runtime is missing, and fails instead
  when ``ONNXHUB_REQUIRE_RUNTIMES=1`` (CI), so a missing runtime never passes as a skip.
"""

from __future__ import annotations

import os
import re

import pytest

SUITE = "onnx-conformance"
_NODE_ID = re.compile(rf"^(?:::)?{SUITE}\[(?P<backend>[^\]]+)\](?:::(?P<case>[^:\s]+))?$")


def require_runtimes() -> bool:
    return os.environ.get("ONNXHUB_REQUIRE_RUNTIMES", "") not in ("", "0")


def missing_runtime(reason: str) -> None:
    """Skip locally, fail in CI: the one rule for anything a test needs installed."""
    if require_runtimes():
        pytest.fail(f"{reason} (ONNXHUB_REQUIRE_RUNTIMES=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def pytest_addoption(parser):
    group = parser.getgroup("onnxhub", "ONNX conformance through onnxhub")
    group.addoption("--onnxhub-backend", metavar="NAME", help="add ONNX backend-test cases for this backend")
    group.addoption("--onnxhub-k", metavar="REGEX",
                    help="only conformance cases whose name matches (re.search); picks cases before "
                         "they are made, so much faster than -k")
    group.addoption("--onnxhub-device", metavar="DEVICE", default="cpu", help="device of the cases (default cpu)")
    group.addoption("--onnxhub-xfail-unsupported", action="store_true",
                    help="report cases the backend refuses (UnsupportedOperator, UnsupportedModel) as xfail (never as pass); "
                         "every other failure still fails")


def _take_conformance_ids(config) -> None:
    """Turn ``onnx-conformance[NAME]::CASE`` arguments into the cases to collect.

    pytest would look for a file of that name; the suite is not a file, so such
    arguments are removed from ``config.args`` and select the backend and cases instead.
    """
    ids = [a for a in config.args if _NODE_ID.match(a)]
    if not ids:
        return
    backends = {_NODE_ID.match(a)["backend"] for a in ids}
    given = config.getoption("--onnxhub-backend")
    if len(backends) > 1 or (given and given not in backends):
        raise pytest.UsageError(f"conformance node ids name backends {', '.join(sorted(backends | {given} - {None}))}; "
                                "one run tests one backend")
    config.option.onnxhub_backend = backends.pop()
    cases = [_NODE_ID.match(a)["case"] for a in ids]
    config._onnxhub_cases = None if None in cases else set(cases)  # the suite's own id: every case
    config.args[:] = [a for a in config.args if a not in ids]


def _check_backend(config) -> None:
    name = config.getoption("--onnxhub-backend")
    if not name or ":" in name:  # "module:Attribute" is resolved (and reported) when the cases load
        return
    from .registry import get_registry

    known = sorted(get_registry().items["backend"])
    if name not in known:
        raise pytest.UsageError(f"--onnxhub-backend: no backend named {name!r} "
                                f"(installed: {', '.join(known) or 'none'}; see 'onnxhub list-backends')")


def pytest_configure(config):
    config._onnxhub_cases = None
    _take_conformance_ids(config)
    _check_backend(config)
    config.addinivalue_line("markers", "runtime(name): needs the named isolated framework runtime installed")
    config.addinivalue_line("markers", "onnx_conformance: an ONNX backend-test case added by --onnxhub-backend")
    config.addinivalue_line("markers", "ground_truth: a heavy check against a real framework (whole model zoos); "
                                       "CI runs these on one Python version only")


@pytest.hookimpl(trylast=True)  # after fixtures are set up: a fixture may install the runtime
def pytest_runtest_setup(item):
    for mark in item.iter_markers(name="runtime"):
        from .home import runtime_installed

        name = mark.args[0]
        if not runtime_installed(name):
            missing_runtime(f"runtime {name!r} is not installed; run: onnxhub runtime install {name}")


def pytest_collection_modifyitems(session, config, items):
    backend = config.getoption("--onnxhub-backend")
    if backend:
        name = f"{SUITE}[{backend}]"  # its own node id, so pytest prints ids that select the case again
        suite = ConformanceSuite.from_parent(session, name=name, nodeid=name)
        items.extend(suite.collect())


class ConformanceSuite(pytest.Collector):
    """The cases of ``onnx.backend.test.BackendTest`` for one backend and device."""

    def collect(self):
        from . import api
        from .conformance.case import CaseRunner
        from .conformance.cases import collect

        config = self.config
        name, device = config.getoption("--onnxhub-backend"), config.getoption("--onnxhub-device").lower()
        runner = CaseRunner(api.get_backend(name))
        wanted = config._onnxhub_cases
        pattern = config.getoption("--onnxhub-k")
        if wanted is not None:  # node ids given on the command line: only those cases
            exact = "^(?:" + "|".join(re.escape(c) for c in sorted(wanted)) + ")$"
            pattern = f"(?={pattern})" + exact if pattern else exact
        for case in collect(device, pattern):
            item = ConformanceCase.from_parent(self, name=case.name, runner=runner)
            item.add_marker("onnx_conformance")
            yield item


class ConformanceCase(pytest.Item):
    """One case, run by the same case runner as ``onnxhub test-backend``'s workers."""

    def __init__(self, *, runner, **kwargs):
        super().__init__(**kwargs)
        self.runner = runner

    def runtest(self):
        result = self.runner.run(self.name)
        if result.outcome == "skipped":
            pytest.skip(result.message)
        if result.outcome == "unsupported" and self.config.getoption("--onnxhub-xfail-unsupported"):
            pytest.xfail(result.message)
        if result.outcome in ("failed", "unsupported"):
            raise ConformanceFailure(result.message, result.traceback)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return f"{excinfo.value}\n\n{excinfo.value.traceback_text}"
        if isinstance(excinfo.value, pytest.xfail.Exception):
            return str(excinfo.value)  # pytest's own rendering walks every frame: 0.1 s a case
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"onnx conformance: {self.name}"


class ConformanceFailure(AssertionError):
    def __init__(self, line: str, traceback_text: str):
        super().__init__(line)
        self.traceback_text = traceback_text
