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
