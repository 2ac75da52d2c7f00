"""Where onnxhub keeps its state: ``$ONNXHUB_HOME`` or the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

RUNTIME_MARKER = "onnxhub-runtime.json"


def home() -> Path:
    env = os.environ.get("ONNXHUB_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when no override is set: keeps listing imports small

    return Path(platformdirs.user_data_dir("onnxhub", appauthor=False))


def runtime_dir(name: str) -> Path:
    return home() / "runtimes" / name


def runtime_installed(name: str) -> bool:
    """True when ``runtime install`` finished for ``name`` (it writes the marker last)."""
    return (runtime_dir(name) / RUNTIME_MARKER).is_file()


def runtime_interpreter_problem(name: str) -> str | None:
    """Why an installed runtime's interpreter cannot run (None when it is there).

    ``bin/python`` is a link to the interpreter the environment was built with; when that
    interpreter is uninstalled (a pyenv version removed, a system upgrade) the folder and its
    marker stay, but nothing in it runs. Checks the file only: starts no process.
    """
    python = runtime_dir(name) / "bin" / "python"
    if not python.exists():  # follows the link: a dangling one is gone too
        return f"runtime {name!r} is broken: its interpreter {python} is gone; rebuild it: " \
               f"onnxhub runtime install {name} --force"
    if not os.access(python, os.X_OK):
        return f"runtime {name!r} is broken: its interpreter {python} is not executable; rebuild it: " \
               f"onnxhub runtime install {name} --force"
    return None
