"""Conformance worker: runs suite cases one at a time for the parent runner.

Protocol: the parent writes one JSON line per case (``{"name", "kind", "op"}``)
to stdin; the worker answers one JSON line (``{"name", "outcome", "seconds",
"message"}``) on a private copy of stdout. Anything the backend prints goes to
stderr, so it can never corrupt a frame. A crash or hang is the parent's to record.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import unittest
import warnings

# "pkg.mod.ExcType: message" (or a bare "ExcType") at the start of a traceback line.
_EXC_LINE = re.compile(r"^([A-Za-z_]\w*\.)*[A-Z]\w*(:|$)")


class _Probe:
    """Delegates to the backend, but notices BackendIsNotSupposedToImplementIt.

    ONNX's test wrapper swallows that exception and lets the case pass; here it is
    reported as a skip, because a skipped case is never a pass.
    """

    def __init__(self, backend):
        self._backend = backend
        self.not_implemented = None

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def prepare(self, *args, **kwargs):
        from onnx.backend.test.runner import BackendIsNotSupposedToImplementIt

        try:
            return self._backend.prepare(*args, **kwargs)
        except BackendIsNotSupposedToImplementIt as exc:
            self.not_implemented = str(exc) or "BackendIsNotSupposedToImplementIt"
            raise


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    backend_name = argv[0]
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints from backends land on stderr
    warnings.simplefilter("ignore")

    import onnx.backend.test

    from .. import api

    probe = _Probe(api.get_backend(backend_name))
    tests = onnx.backend.test.BackendTest(probe, "onnxhub_conformance").tests
    for line in sys.stdin:
        case = json.loads(line)
        probe.not_implemented = None
        start = time.perf_counter()
        result = unittest.TestResult()
        if not hasattr(tests, case["name"]):
            outcome, message = "failed", "case not found in this onnx's BackendTest"
        else:
            tests(case["name"]).run(result)
            if result.errors or result.failures:
                outcome, message = "failed", _message(result)
            elif result.skipped:
                outcome, message = "skipped", result.skipped[0][1][:500]
            elif probe.not_implemented is not None:
                outcome, message = "skipped", f"backend not supposed to implement it: {probe.not_implemented}"[:500]
            else:
                outcome, message = "passed", ""
        out.write(json.dumps({"name": case["name"], "outcome": outcome, "seconds": time.perf_counter() - start,
                              "message": message}) + "\n")
    return 0


def _message(result) -> str:
    """The exception line of the failure's traceback (the last one, if chained)."""
    _, text = (result.errors + result.failures)[0]
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if _EXC_LINE.match(ln)]
    if not starts:
        return lines[-1][:500] if lines else "failed"
    return " | ".join(lines[starts[-1]:starts[-1] + 3])[:500]


if __name__ == "__main__":
    sys.exit(main())
