"""Runtime-side handler for ``run_files``: a CNTK ``.model`` loaded and evaluated by plain CNTK 2.7.

Runs inside the CNTK runtime (CPython 3.6, numpy 1.19), imported by module name by the
onnxhub worker; standard library, numpy and cntk only (no onnx). What a CNTK user does:
``cntk.load_model(path)``, ``eval`` on a dict of arguments, on the CPU.

Layouts: the values come and go in the ONNX layout the exporter writes: an argument with
a sequence axis is ``[sequence, batch, ...]`` there and ``[batch, sequence, ...]`` for
``eval`` (the axes are swapped on the way in, and back for outputs with a sequence axis);
a plain argument is ``[batch, ...]`` in both (the importer's files have only those).
"""

import warnings

import numpy as np

warnings.simplefilter("ignore")  # CNTK warns on import (unsupported distro, optional GPU libraries)


def _cntk():
    import cntk

    cntk.device.try_set_default_device(cntk.device.cpu())
    return cntk


def version(params, arrays):
    C = _cntk()
    return {"cntk": C.__version__, "numpy": np.__version__}


def _match(arguments, arrays):
    """``{argument: value}``: each value by the argument's uid, else by its name (first unmatched one)."""
    feeds, left = {}, list(arguments)
    for key, value in arrays.items():
        found = [a for a in left if a.uid == key] or [a for a in left if a.name == key]
        if not found:
            raise ValueError("the model has no argument %r (its arguments: %s)"
                             % (key, ", ".join(a.name or a.uid for a in arguments)))
        left.remove(found[0])
        feeds[found[0]] = value
    if left:
        raise ValueError("no value for argument(s) %s" % ", ".join(a.name or a.uid for a in left))
    return feeds


def _has_sequence_axis(var):
    return len(var.dynamic_axes) == 2


def run_model(params, arrays):
    """``params["path"]``: a ``.model``; ``arrays``: input name (or uid) -> value in the ONNX layout.

    Returns ``out0, out1, ...``: the model's outputs in its own order (the ONNX graph's, for the
    exporter and the importer alike) and ``{"names": [...], "uids": [...]}`` of those outputs.
    """
    C = _cntk()
    model = C.load_model(params["path"])
    feeds = {}
    for arg, value in _match(model.arguments, arrays).items():
        if _has_sequence_axis(arg):
            value = np.ascontiguousarray(np.swapaxes(value, 0, 1))
        feeds[arg] = value
    y = model.eval(feeds)
    outputs = list(model.outputs)
    ys = [y[o] for o in outputs] if isinstance(y, dict) else [y]
    out = {}
    for i, (var, value) in enumerate(zip(outputs, ys)):
        value = np.stack(value) if isinstance(value, list) else np.asarray(value)
        if _has_sequence_axis(var):
            value = np.swapaxes(value, 0, 1)
        out["out%d" % i] = np.require(value, requirements="C")  # ascontiguousarray would make a scalar [x]
    out["names"] = [o.name for o in outputs]
    out["uids"] = [o.uid for o in outputs]
    return out
