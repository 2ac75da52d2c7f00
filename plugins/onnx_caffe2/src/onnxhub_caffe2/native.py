"""Caffe2's own files run by plain Caffe2 (torch 1.10.2): ``run_files`` of the exporter and the importer.

``onnxhub convert --verify`` runs the user's ``predict_net`` + ``init_net`` (exporter side,
``.pb`` or ``.pbtxt``, any order) and the ``init_net.pb`` + ``predict_net.pb`` the importer
wrote (importer side) through this: one worker process in the ``caffe2`` runtime per hub
process, serving ``runtime_side/files.py`` (a fresh workspace per call).

Names: the exporter names its ONNX inputs and outputs after the blobs (graph outputs keep
their blob names), and the importer writes blobs named after the ONNX tensors, so inputs
are fed by name and the outputs come back as ``{blob: array}``.
Also the exporter's ``group_files``: which files of a folder make one model.
"""

from __future__ import annotations

from pathlib import Path

from onnxhub.errors import UsageError

HANDLER = "onnxhub_caffe2.runtime_side.files"
_NETDEF_SUFFIXES = (".pb", ".pbtxt", ".prototxt")


def worker():
    """The ``run_files`` worker in the installed ``caffe2`` runtime (``RuntimeNotInstalled`` when it is not)."""
    from onnxhub.runtime.dedicated import dedicated_worker

    return dedicated_worker("caffe2", HANDLER, name="caffe2-files")


def _nets(files) -> list[str]:
    """The NetDef files among ``files``: two, or a predict_net alone (the importer's list also holds
    ``value_info.json``)."""
    nets = [str(Path(f).resolve()) for f in files if Path(f).name != "value_info.json"]
    if len(nets) not in (1, 2):
        raise UsageError("running Caffe2 files takes two NetDefs, predict_net and init_net (any order), or a "
                         f"predict_net alone; got {', '.join(Path(f).name for f in files) or 'none'}")
    return nets


def run_files(files, inputs: dict, timeout: float = 600.0) -> dict:
    """Run the init net, feed ``inputs`` (blob name -> array), run the predict net: ``{output blob: array}``."""
    result, arrays = worker().call("run_nets", {"files": _nets(files)}, dict(inputs), timeout=timeout)
    return {name: arrays[f"out{i}"] for i, name in enumerate(result["names"])}


def group_files(paths) -> list[list[str]]:
    """One model per folder holding one ``predict_net*`` and one ``init_net*`` NetDef (``.pb``/``.pbtxt``).

    A folder with several pairs pairs them by the text around ``predict_net``/``init_net``
    (``a_predict_net.pb`` with ``a_init_net.pb``); a predict net with no init net is a model alone,
    an init net with no predict net is left out.
    """
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for p in map(str, paths):
        path = Path(p)
        if not path.name.endswith(_NETDEF_SUFFIXES):
            continue
        for role in ("predict_net", "init_net"):
            head, sep, tail = path.name.partition(role)
            if sep:
                found.setdefault((str(path.parent), head, tail), {})[role] = p
                break
    groups = []
    for _, pair in sorted(found.items()):
        if len(pair) == 2:
            groups.append([pair["predict_net"], pair["init_net"]])
        elif "predict_net" in pair:  # a predict net alone is a model too (its weights are inputs)
            groups.append([pair["predict_net"]])
    return groups


__all__ = ["group_files", "run_files", "worker"]
