"""Runtime-side handler: runs inside the MXNet 1.9.1 runtime (CPython 3.8-3.11, numpy 1.23).

Loaded by path by the onnxhub worker; imports only the standard library, numpy and mxnet.
"""

import os
import time

import numpy as np

_mx = None


def _mxnet():
    global _mx
    if _mx is None:
        import mxnet

        _mx = mxnet
    return _mx


def version(params, arrays):
    mx = _mxnet()
    return {"mxnet": mx.__version__, "numpy": np.__version__}


def forward(params, arrays):
    """Run ``prefix-symbol.json`` + ``prefix-EPOCH.params`` on the given inputs (inference mode)."""
    mx = _mxnet()
    prefix, epoch = params["prefix"], int(params.get("epoch", 0))
    names = params["inputs"]
    with _quiet_warnings():
        net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", names, "%s-%04d.params" % (prefix, epoch))
    outs = net(*[mx.nd.array(arrays[n], dtype=arrays[n].dtype) for n in names])
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {"output%d" % i: o.asnumpy() for i, o in enumerate(outs)}


def onnx_export(params, arrays):
    """MXNet's own exporter, ``mx.onnx.export_model`` (the anchor to beat), timed here."""
    mx = _mxnet()
    start = time.perf_counter()
    path = mx.onnx.export_model(params["symbol"], params["params"], [tuple(s) for s in params["shapes"]],
                                [np.float32] * len(params["shapes"]), params["output"],
                                opset_version=params.get("opset", 13))
    return {"path": path, "seconds": time.perf_counter() - start}


class _quiet_warnings(object):
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def pid(params, arrays):
    return {"pid": os.getpid()}
