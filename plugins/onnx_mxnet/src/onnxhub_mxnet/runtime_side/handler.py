"""Runtime-side handler: runs inside the MXNet 1.9.1 runtime (CPython 3.8-3.11, numpy 1.23).

Imported by module name by the onnxhub worker, with ``onnxhub`` and ``onnxhub_mxnet`` as
bare packages (see ``onnxhub.runtime_side.worker``): it imports the standard library,
numpy, mxnet, its own ``ops`` and onnxhub's runtime-side modules. The methods serve the
``mxnet`` backend: ``load_plan`` / ``run_plan`` / ``drop_plan`` (operator interpreter) and
``load_symbol`` / ``run_executor`` / ``drop_executor`` (graph executor).
"""

import numpy as np

from onnxhub.runtime_side.plans import Handles, PlanStore

_mx = None
_PLANS = None
_EXECUTORS = Handles("executor")


def _mxnet():
    global _mx
    if _mx is None:
        import mxnet

        _mx = mxnet
    return _mx


def _plans():
    """The plan store; MXNet and the operator table load on first use, not at worker start."""
    global _PLANS
    if _PLANS is None:
        from mxnet import np as mnp

        from .ops import TABLE

        _PLANS = PlanStore(TABLE, to_array=lambda a: mnp.array(a, dtype=a.dtype), from_array=lambda x: x.asnumpy(),
                           stack=lambda xs, axis: mnp.stack(xs, axis=axis),
                           concat=lambda xs, axis: mnp.concatenate(xs, axis=axis))
    return _PLANS


def version(params, arrays):
    mx = _mxnet()
    return {"mxnet": mx.__version__, "numpy": np.__version__}


# -- the ONNX backend: execute an ONNX graph with MXNet's own kernels ------------------------
def load_plan(params, arrays):
    """Keep an ONNX graph (as a plan) for ``run_plan``; refuses, naming them all, ops the table lacks."""
    return {"id": _plans().load(params["plan"], arrays)}


def drop_plan(params, arrays):
    _plans().drop(params["id"])
    return {}


def run_plan(params, arrays):
    from mxnet import npx

    npx.set_np()  # numpy semantics (0-d arrays, broadcasting) for the ops, only while they run
    try:
        out = _plans().run(params["id"], arrays, params.get("sequences"), params.get("nones") or ())
        _mxnet().nd.waitall()
        return out
    finally:
        npx.reset_np()


# -- imported symbols: MXNet's graph executor, one binding per input-shape signature -----------
def load_symbol(params, arrays):
    """Bind the importer's symbol (JSON text) and weights for the given input shapes."""
    mx = _mxnet()
    sym = mx.sym.load_json(params["symbol"])
    args = {k[4:]: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items() if k.startswith("arg:")}
    aux = {k[4:]: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items() if k.startswith("aux:")}
    wanted = set(sym.list_arguments())
    used = []  # an input whose every use was folded away is not an argument of the symbol
    for name, shape, dtype in params["inputs"]:
        if name in wanted:
            args[name] = mx.nd.zeros(tuple(shape), dtype=dtype)
            used.append(name)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    return {"id": _EXECUTORS.add((exe, used))}


def run_executor(params, arrays):
    exe, names = _EXECUTORS.get(params["id"])
    for name in names:
        exe.arg_dict[name][:] = arrays[name]
    outs = exe.forward(is_train=False)
    return {"out%d" % i: o.asnumpy() for i, o in enumerate(outs)}


def drop_executor(params, arrays):
    _EXECUTORS.drop(params["id"])
    return {}
