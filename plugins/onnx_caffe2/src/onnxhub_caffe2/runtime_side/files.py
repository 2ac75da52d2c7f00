"""Runtime-side handler for ``run_files``: Caffe2 NetDef files, loaded and run by plain Caffe2 (torch 1.10.2).

Runs inside the Caffe2 runtime (CPython 3.9, numpy 1.23, protobuf 3.20), imported by module
name by the onnxhub worker; standard library, numpy and caffe2 only. What a Caffe2 user
does with ``init_net`` + ``predict_net`` (binary ``.pb`` or text ``.pbtxt``): in a fresh
workspace ``RunNetOnce(init)``, ``FeedBlob`` each input (after init: ``mobile_exporter``'s
placeholder fill of the input is overwritten), ``RunNetOnce(predict)``, ``FetchBlob`` the
external outputs.
"""

import numpy as np

TEXT_SUFFIXES = (".pbtxt", ".prototxt", ".txt")


def version(params, arrays):
    import torch

    return {"caffe2": "torch " + torch.__version__, "numpy": np.__version__}


def _looks_like_text(path, head):
    """As the exporter tells them apart: by suffix, else UTF-8 without control characters."""
    if path.endswith(TEXT_SUFFIXES):
        return True
    head = head[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        if len(head) < 4096:
            return False
        text = head[:-4].decode("utf-8", "replace")
        if "\ufffd" in text:
            return False
    return all(c.isprintable() or c in "\n\r\t" for c in text)


def _read(path):
    from caffe2.proto import caffe2_pb2

    net = caffe2_pb2.NetDef()
    with open(path, "rb") as f:
        data = f.read()
    if _looks_like_text(path, data):
        from google.protobuf import text_format

        text_format.Merge(data.decode("utf-8"), net)
    else:
        net.ParseFromString(data)
    return net


def _is_init(net):
    """An init net holds only fill ops (as the exporter decides which file is which)."""
    return all(op.type.endswith("Fill") or op.type in ("Load", "CreateDB") for op in net.op)


def run_nets(params, arrays):
    """``params["files"]``: the two NetDefs in any order, or a predict net alone; ``arrays``: input blob -> value.

    Returns ``{"names": [external outputs fetched]}`` and arrays ``out0, out1, ...`` in that order
    (``params["outputs"]`` when given, else the predict net's external outputs; a blob the run
    did not make is left out).
    """
    from caffe2.python import workspace

    nets = [_read(p) for p in params["files"]]
    if len(nets) == 1:  # a predict net alone: the inputs feed every blob it reads
        init, predict = None, nets[0]
    else:
        a, b = nets
        if _is_init(a) == _is_init(b):
            raise ValueError("cannot tell init_net from predict_net: %s" % ", ".join(params["files"]))
        init, predict = (a, b) if _is_init(a) else (b, a)
    wanted = params.get("outputs") or list(dict.fromkeys(predict.external_output))
    workspace.ResetWorkspace()
    try:
        if init is not None:
            workspace.RunNetOnce(init)
        for name, value in arrays.items():
            workspace.FeedBlob(name, value)
        try:
            workspace.RunNetOnce(predict)
        except RuntimeError as exc:  # Caffe2's enforce messages end in a long C++ stack: keep the head
            head = " ".join(str(exc).split("frame #0")[0].split())
            shapes = ", ".join("%s %s" % (k, list(np.shape(v))) for k, v in arrays.items())
            raise RuntimeError("Caffe2 could not run %s on %s: %s" % (predict.name or "the predict net", shapes, head))
        names, out = [], {}
        for name in wanted:
            if workspace.HasBlob(name):
                out["out%d" % len(names)] = np.array(workspace.FetchBlob(name))
                names.append(name)
    finally:
        workspace.ResetWorkspace()
    out["names"] = names
    return out
