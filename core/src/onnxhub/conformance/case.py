"""Run one case of ``onnx.backend.test.BackendTest``: the one case runner behind
``onnxhub test-backend`` (in its worker processes) and the pytest plugin.

``CaseRunner(backend).run("test_abs_cpu")`` gives a ``CaseResult`` whose outcome is
``passed``, ``failed``, ``unsupported`` or ``skipped``. ``unsupported`` is one notion
everywhere: the backend refused the case with ``UnsupportedOperator`` (an op it lacks)
or ``UnsupportedModel`` (an IR version, opset or domain it does not take), decided by
exception class, never by matching text; it is never a pass, but it is told apart from
a wrong result. A case whose backend raises ONNX's ``BackendIsNotSupposedToImplementIt``
is skipped (ONNX's own wrapper lets it pass; a skipped case is never a pass).
"""

from __future__ import annotations

import re
import time
import traceback
import unittest
import warnings
from dataclasses import dataclass

from ..errors import UnsupportedModel, UnsupportedOperator


@dataclass(frozen=True)
class CaseResult:
    outcome: str  # "passed", "failed", "unsupported" or "skipped"
    message: str = ""  # one line for reports: the exception (its first lines) or the skip reason
    traceback: str = ""  # the whole failure, for a reader
    error: type | None = None  # the exception class of a failure
    seconds: float = 0.0

    @property
    def unsupported(self) -> bool:
        """The backend refused the case (``UnsupportedOperator`` or ``UnsupportedModel``)."""
        return self.error is not None and issubclass(self.error, (UnsupportedOperator, UnsupportedModel))


class CaseRunner:
    """The suite's cases for one backend; ``run(name)`` runs one of them."""

    def __init__(self, backend):
        import onnx.backend.test

        self.probe = _Probe(backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # generating node cases warns about overflows
            self.tests = onnx.backend.test.BackendTest(self.probe, "onnxhub_conformance").tests

    def run(self, name: str) -> CaseResult:
        start = time.perf_counter()
        self.probe.not_implemented = None
        if not hasattr(self.tests, name):
            return CaseResult("failed", "case not found in this onnx's BackendTest")
        result = _Result()
        self.tests(name).run(result)
        seconds = time.perf_counter() - start
        if result.failure is not None:
            error, message, text = result.failure
            refused = issubclass(error, (UnsupportedOperator, UnsupportedModel))
            return CaseResult("unsupported" if refused else "failed", message, text, error, seconds)
        if result.skipped:
            return CaseResult("skipped", result.skipped[0][1][:500], seconds=seconds)
        if self.probe.not_implemented is not None:
            reason = f"backend not supposed to implement it: {self.probe.not_implemented}"
            return CaseResult("skipped", reason[:500], seconds=seconds)
        return CaseResult("passed", seconds=seconds)


class _Result(unittest.TestResult):
    """A TestResult that also keeps the first failure's exception class."""

    failure = None  # (class, message, traceback text)

    def addError(self, test, err):
        super().addError(test, err)
        self._keep(err, self.errors)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._keep(err, self.failures)

    def _keep(self, err, found):
        if self.failure is None:
            self.failure = (err[0], _message(err[0], err[1]), found[-1][1])


# "pkg.mod.ExcType: message" (or a bare "ExcType") at the start of a line.
_EXC_LINE = re.compile(r"^([A-Za-z_]\w*\.)*[A-Z]\w*(:|$)")


def _message(error, value) -> str:
    """The exception's first lines; from the innermost exception line when its text
    carries a traceback of its own (a runtime worker's error, say)."""
    lines = [ln for ln in "".join(traceback.format_exception_only(error, value)).strip().splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if _EXC_LINE.match(ln)] or [0]
    return " | ".join(lines[starts[-1]:starts[-1] + 3])[:500] or "failed"


class _Probe:
    """Delegates to the backend, but notices BackendIsNotSupposedToImplementIt.

    ONNX's test wrapper swallows that exception and lets the case pass; the runner
    reports it as a skip instead.
    """

    def __init__(self, backend):
        self._backend = backend
        self.not_implemented = None

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def prepare(self, *args, **kwargs):
        rep = self._noticing(self._backend.prepare, *args, **kwargs)
        return rep if rep is None else _RepProbe(self, rep)  # ONNX asserts on a None rep itself

    def _noticing(self, call, *args, **kwargs):
        from onnx.backend.test.runner import BackendIsNotSupposedToImplementIt

        try:
            return call(*args, **kwargs)
        except BackendIsNotSupposedToImplementIt as exc:
            self.not_implemented = str(exc) or "BackendIsNotSupposedToImplementIt"
            raise


class _RepProbe:
    """The prepared model, with its ``run`` watched the same way."""

    def __init__(self, probe, rep):
        self._probe, self._rep = probe, rep

    def __getattr__(self, name):
        return getattr(self._rep, name)

    def run(self, *args, **kwargs):
        return self._probe._noticing(self._rep.run, *args, **kwargs)
