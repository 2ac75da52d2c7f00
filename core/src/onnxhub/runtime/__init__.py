"""Isolated framework runtimes: managed virtual environments and their workers.

``envs`` builds and removes the environments; ``bridge`` talks to a worker running
inside one (the runtime-side loop is ``onnxhub.runtime_side.worker``).
"""

from __future__ import annotations

import json
import shutil

from ..home import RUNTIME_MARKER, runtime_dir, runtime_installed, runtime_interpreter_problem
from ..registry import get_registry


def list_runtimes() -> list[dict]:
    """``[{"name", "plugin", "python", "status", "path", "packages"}]``."""
    rows = []
    for name, item in sorted(get_registry().items["runtime"].items()):
        path = runtime_dir(name)
        status, packages = "missing", []
        if runtime_installed(name):
            try:
                info = json.loads((path / RUNTIME_MARKER).read_text())
                packages = info.get("packages", [])
                status = "broken" if runtime_interpreter_problem(name) else "installed"
            except (OSError, ValueError):
                status = "broken"
        elif path.exists():
            status = "broken"  # an install that did not finish
        rows.append({"name": name, "plugin": item.plugin, "python": item.spec.python, "status": status,
                     "path": str(path), "packages": packages})
    return rows


def install(name: str, python: str | None = None, force: bool = False):
    from .envs import install_runtime

    return install_runtime(get_registry().get("runtime", name).spec, python=python, force=force)


def remove(name: str) -> None:
    from .envs import runtime_lock

    get_registry().get("runtime", name)
    path = runtime_dir(name)
    with runtime_lock(name):
        if path.exists():
            shutil.rmtree(path)
