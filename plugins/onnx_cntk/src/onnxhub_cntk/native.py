"""CNTK's own ``.model`` files run by plain CNTK 2.7: ``run_files`` of the exporter and the importer.

``onnxhub convert --verify`` runs the user's ``.model`` (exporter side) and the
``NAME.model`` the importer wrote (importer side) through this: one worker process in the
``cntk`` runtime per hub process, serving ``runtime_side/files.py``. Inputs are matched to
CNTK arguments by the name the exporter gives them (the argument's name, else its uid; the
importer's arguments carry the ONNX input names); outputs come back in the model's output
order, which is the ONNX graph's for both. Sequence axes: see ``runtime_side/files.py``.
Also the exporter's ``group_files``: each ``.model`` is one model.
"""

from __future__ import annotations

from pathlib import Path

from onnxhub.errors import UsageError

HANDLER = "onnxhub_cntk.runtime_side.files"


def worker():
    """The ``run_files`` worker in the installed ``cntk`` runtime (``RuntimeNotInstalled`` when it is not)."""
    from onnxhub.runtime.dedicated import dedicated_worker

    return dedicated_worker("cntk", HANDLER, name="cntk-files")


def run_files(files, inputs: dict, timeout: float = 600.0) -> list:
    """Load the ``.model`` with ``cntk.load_model``, evaluate it once on ``inputs``, return the outputs."""
    paths = [Path(f) for f in files]
    if len(paths) != 1:
        raise UsageError(f"running CNTK files takes one .model file, got: {', '.join(p.name for p in paths) or 'none'}")
    result, arrays = worker().call("run_model", {"path": str(paths[0].resolve())}, dict(inputs), timeout=timeout)
    return [arrays[f"out{i}"] for i in range(len(result["uids"]))]


def group_files(paths) -> list[list[str]]:
    """One model per ``.model`` file."""
    return [[p] for p in sorted(map(str, paths)) if p.endswith(".model")]


__all__ = ["group_files", "run_files", "worker"]
