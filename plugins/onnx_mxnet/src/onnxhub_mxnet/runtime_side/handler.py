"""Runtime-side handler: runs inside the MXNet 1.9.1 runtime (CPython 3.8-3.11, numpy 1.23).

Loaded by path by the onnxhub worker; imports only the standard library, numpy, mxnet
and its sibling ``onnx_ops.py``. The methods serve the ``mxnet`` backend: ``load_plan``
/ ``run_plan`` (operator interpreter) and ``load_symbol`` / ``run_symbol`` (graph executor).
"""

import os

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


# -- the ONNX backend: execute an ONNX graph with MXNet's own kernels ------------------------
_PLANS = {}


def _onnx_ops():
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)  # the handler is loaded by path; its sibling module too
    import onnx_ops

    return onnx_ops.OPS


def load_plan(params, arrays):
    """Keep an ONNX graph (as a plan: nodes, attributes, constants) for ``run_plan``.

    Returns the op types this runtime cannot execute, so the hub can refuse up front.
    """
    _mxnet()
    ops = _onnx_ops()
    plan = params["plan"]
    missing = sorted({n["op"] for n in plan["nodes"] if n["op"] not in ops or n.get("domain") not in ("", "ai.onnx")})
    if missing:
        return {"missing": missing}
    plan_id = len(_PLANS) + 1
    _PLANS[plan_id] = (plan, arrays)
    return {"id": plan_id, "missing": []}


def drop_plan(params, arrays):
    _PLANS.pop(params["id"], None)
    return {}


def run_plan(params, arrays):
    mx = _mxnet()
    from mxnet import np as mnp
    from mxnet import npx

    ops = _onnx_ops()
    plan, consts = _PLANS[params["id"]]
    npx.set_np()
    try:
        env = {}
        for key, value in consts.items():
            if key.startswith("init:"):
                env[key[5:]] = mnp.array(value, dtype=value.dtype)
        for name, value in arrays.items():
            env[name] = mnp.array(value, dtype=value.dtype)
        for node in plan["nodes"]:
            attrs = {}
            for k, v in node["attrs"].items():
                attrs[k] = mnp.array(consts[v["$array"]], dtype=consts[v["$array"]].dtype) \
                    if isinstance(v, dict) and "$array" in v else v
            attrs.update(_opset=plan["opset"], _outputs=len(node["outputs"]), _op=node["op"])
            fn, _since = ops[node["op"]]
            ins = [env[name] if name else None for name in node["inputs"]]
            outs = fn(ins, attrs)
            for name, value in zip(node["outputs"], outs):
                if name:
                    env[name] = value
        mx.nd.waitall()
        return {"outputs": plan["outputs"], **{"out%d" % i: env[n].asnumpy() for i, n in enumerate(plan["outputs"])}}
    finally:
        npx.reset_np()


# -- imported symbols: MXNet's graph executor, one binding per input-shape signature -----------
_EXECUTORS = {}


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
    key = len(_EXECUTORS) + 1
    _EXECUTORS[key] = (exe, used)
    return {"id": key}


def run_symbol(params, arrays):
    exe, names = _EXECUTORS[params["id"]]
    for name in names:
        exe.arg_dict[name][:] = arrays[name]
    outs = exe.forward(is_train=False)
    return {"out%d" % i: o.asnumpy() for i, o in enumerate(outs)}


def drop_symbol(params, arrays):
    _EXECUTORS.pop(params["id"], None)
    return {}
