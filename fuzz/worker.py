"""The long-lived child that runs mutants in-process (started by ``campaign.py``; not a user tool).

Protocol: one JSON job per line on stdin, ``{"dir", "argv", "capture"}``; for each, the child
changes into ``dir``, points its file descriptors 1 and 2 at ``capture.out``/``capture.err``
(so ONNX Runtime's own C++ logging is caught too), calls ``onnxhub.cli.main(argv)``, restores
them and answers one JSON line on the descriptor that was stdout at start:
``{"code", "escaped", "maxrss_kb"}``. ``escaped`` names a ``BaseException`` that got out of
``main`` (a finding in itself). The address-space limit (``RLIMIT_AS``, MiB, argv[1], plus an
allowance per core for thread stacks) makes a runaway allocation fail inside the child instead
of swapping the machine.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
import warnings


def main() -> None:
    limit_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if limit_mb:
        # Address space, not memory: ONNX Runtime starts a thread per core, each with its stack
        # (8 MiB reserved). The allowance per core keeps a 64-core machine from failing mutants
        # that pass on 2 cores; the memory invariant itself is the peak RSS the campaign checks.
        limit = (limit_mb + 16 * (os.cpu_count() or 1)) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answer = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints between jobs never reach the channel
    import numpy  # noqa: F401  (loaded once: the point of a long-lived child)
    import onnx  # noqa: F401

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        pass
    from onnxhub.cli.main import main as cli

    filters = list(warnings.filters)
    answer.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        os.chdir(job["dir"])
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        out = os.open(job["capture"] + ".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(job["capture"] + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        warnings.filters[:] = filters  # as in a fresh process: each warning shows once per location
        warnings._filters_mutated()
        escaped = None
        try:
            code = cli(job["argv"])
        except SystemExit as exc:
            code, escaped = exc.code if isinstance(exc.code, int) else 3, "SystemExit"
        except BaseException as exc:  # noqa: BLE001 - everything that escapes main is a finding
            traceback.print_exc()
            code, escaped = -1, type(exc).__name__
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (out, err, *saved):
                os.close(fd)
            os.chdir("/")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        answer.write(json.dumps({"code": code, "escaped": escaped, "maxrss_kb": rss}) + "\n")


if __name__ == "__main__":
    main()
