"""A worker of its own in an installed runtime, serving one handler module (one per hub process).

Plugins' ``run_files`` (``onnxhub convert --verify``) load a framework's files with the
real framework in its runtime; that handler is not the backend's, so it gets a worker of
its own: ``dedicated_worker("caffe2", "onnxhub_caffe2.runtime_side.files")``. Started on
first call, stopped at exit.
"""

from __future__ import annotations

import atexit

from .bridge import Worker

_WORKERS: dict[tuple[str, str], Worker] = {}


def dedicated_worker(runtime: str, handler: str, name: str | None = None) -> Worker:
    """The worker of ``handler`` in runtime ``runtime``; ``RuntimeNotInstalled`` when the runtime is not."""
    key = (runtime, handler)
    if key not in _WORKERS:
        from ..errors import RuntimeNotInstalled
        from ..home import runtime_dir, runtime_installed, runtime_interpreter_problem
        from ..registry import get_registry

        spec = get_registry().get("runtime", runtime).spec
        if not runtime_installed(runtime):
            raise RuntimeNotInstalled(f"running {runtime} files needs the {runtime} runtime; "
                                      f"run: onnxhub runtime install {runtime}")
        problem = runtime_interpreter_problem(runtime)
        if problem:
            raise RuntimeNotInstalled(problem)
        worker = Worker(runtime_dir(runtime) / "bin" / "python", handler, dict(spec.env),
                        name=name or f"{runtime}-files")
        atexit.register(worker.stop)
        _WORKERS[key] = worker
    return _WORKERS[key]


__all__ = ["dedicated_worker"]
