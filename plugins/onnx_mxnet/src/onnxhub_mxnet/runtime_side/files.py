"""Runtime-side handler for ``run_files``: MXNet's own files, loaded and run by MXNet 1.9.1.

Runs inside the MXNet runtime (CPython 3.8-3.11, numpy 1.23), imported by module name by
the onnxhub worker; standard library, numpy and mxnet only. What a user of MXNet does:
``mx.sym.load`` + ``mx.nd.load``, bind on CPU with the given inputs, one forward pass.
"""

import numpy as np


def version(params, arrays):
    import mxnet

    return {"mxnet": mxnet.__version__, "numpy": np.__version__}


def run_files(params, arrays):
    """Outputs ``out0, out1, ...`` of ``params["symbol"]`` (+ ``params["params"]``) on ``arrays`` (by input name)."""
    import mxnet as mx

    sym = mx.sym.load(params["symbol"])
    saved = mx.nd.load(params["params"]) if params.get("params") else {}
    # A label saved with the weights (MXNet's savers keep SoftmaxOutput's) is data, not a
    # weight: made below for the batch given, as mx.mod.Module does.
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:") and not k.endswith("label")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    wanted = set(sym.list_arguments())
    for name, value in arrays.items():
        if name in wanted:
            args[name] = mx.nd.array(value, dtype=value.dtype)
    # Arguments neither saved nor given (a SoftmaxOutput label, say): zeros of the inferred shape.
    shapes, _, _ = sym.infer_shape_partial(**{k: v.shape for k, v in args.items()})
    for name, shape in zip(sym.list_arguments(), shapes or ()):
        if name not in args:
            args[name] = mx.nd.zeros(shape)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    outs = exe.forward(is_train=False)
    return {"out%d" % i: o.asnumpy() for i, o in enumerate(outs)}
