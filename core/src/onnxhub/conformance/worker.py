"""Conformance worker: runs suite cases one at a time for the parent runner.

Protocol: once the backend is loaded and the suite built, the worker writes
``{"ready": true}``; the start-up until then has its own, generous limit. Then the
parent writes one JSON line per case (``{"name", "kind", "op"}``) to stdin; the
worker answers one JSON line (``{"name", "outcome", "seconds", "message"}``) on a
private copy of stdout. Anything the backend prints goes to stderr, so it can never
corrupt a frame. A crash or hang is the parent's to record.
"""

from __future__ import annotations

import json
import os
import sys
import warnings


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    backend_name = argv[0]
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints from backends land on stderr
    warnings.simplefilter("ignore")

    from .. import api
    from .case import CaseRunner

    runner = CaseRunner(api.get_backend(backend_name))
    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        name = json.loads(line)["name"]
        r = runner.run(name)
        out.write(json.dumps({"name": name, "outcome": r.outcome, "seconds": r.seconds, "message": r.message}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
