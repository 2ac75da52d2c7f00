"""Runtime-side handler: runs inside the CNTK 2.7 runtime (CPython 3.6, numpy 1.19; no onnx).

Imported by module name by the onnxhub worker. Methods:

- ``load_plan`` / ``run_plan`` / ``drop_plan``: the operator interpreter. Graph inputs and
  initializers become CNTK constants, the table composes CNTK functions on them and the
  outputs are evaluated by CNTK;
- ``load_graph`` / ``run_executor`` / ``drop_executor``: the graph builder (the backend's
  fast path): the plan composed once on ``input_variable``s of one input-shape signature
  (static shapes, no dynamic axis), then evaluated per run;
- ``save_model``: the importer: the plan composed with the first input dim as CNTK's batch
  axis and saved with ``Function.save`` (a ``.model`` file plain CNTK loads).
"""

import warnings

import numpy as np

from onnxhub.runtime_side.plans import Handles, PlanStore

warnings.simplefilter("ignore")  # CNTK warns on import (unsupported distro, optional GPU libraries)

_C = None
_PLANS = None
_GRAPHS = Handles("graph")


def _cntk():
    global _C
    if _C is None:
        import cntk

        cntk.device.try_set_default_device(cntk.device.cpu())
        _C = cntk
    return _C


def _to_value(array):
    from .ops.common import const

    return const(array)


def _from_value(t):
    """A value evaluated by CNTK, as numpy in its ONNX dtype."""
    from .ops.common import value

    data = value(t)
    return data.astype(t.dtype) if str(data.dtype) != t.dtype else data


def _concat(items, axis):
    """Sequence values joined by CNTK (ConcatFromSequence, Loop/Scan outputs)."""
    from .ops.common import T

    first = items[0]
    return first if len(items) == 1 else T(_cntk().splice(*[t.var for t in items], axis=axis % first.rank),
                                           first.dtype)


def _stack(items, axis):
    from .ops.common import T

    C = _cntk()
    first = items[0]
    axis = axis % (first.rank + 1)
    lifted = [T(C.reshape(t.var, t.shape[:axis] + (1,) + t.shape[axis:]), t.dtype) for t in items]
    return _concat(lifted, axis)


def _plans():
    global _PLANS
    if _PLANS is None:
        _cntk()
        from .ops import TABLE

        _PLANS = PlanStore(TABLE, to_array=_to_value, from_array=_from_value, stack=_stack, concat=_concat)
    return _PLANS


def version(params, arrays):
    return {"cntk": _cntk().__version__, "numpy": np.__version__}


# -- the operator interpreter --------------------------------------------------------------
def load_plan(params, arrays):
    return {"id": _plans().load(params["plan"], arrays)}


def drop_plan(params, arrays):
    _plans().drop(params["id"])
    return {}


def run_plan(params, arrays):
    return _plans().run(params["id"], arrays, params.get("sequences"), params.get("nones") or ())


# -- composed graphs: the fast path and the importer -----------------------------------------
def _compose(plan, consts, inputs, batch):
    """The plan composed on CNTK input variables: ``(function, [input var], [output T])``."""
    C = _cntk()
    from .ops.common import T, cdtype, check_dtype, const

    store = _plans()
    env = dict((key[5:], const(v)) for key, v in consts.items() if key.startswith("init:"))
    variables = []
    for name, shape, dtype in inputs:
        check_dtype(dtype, "graph input %r" % name)
        if 0 in shape:
            raise NotImplementedError("CNTK has no zero-sized tensors (graph input %r)" % name)
        if batch:
            if not shape:
                raise NotImplementedError("graph input %r is a scalar: it has no batch axis for CNTK" % name)
            var = C.input_variable(tuple(shape[1:]), dtype=cdtype(dtype), name=name)
        else:
            var = C.input_variable(tuple(shape), dtype=cdtype(dtype), dynamic_axes=[], name=name)
        env[name] = T(var, dtype)
        variables.append(var)
    outs = store._run_graph(plan, env, consts, plan["opset"])
    return variables, outs


def load_graph(params, arrays):
    """Compose loaded plan ``params["plan"]`` for the input signature ``params["inputs"]``."""
    plan, consts = _plans().get(params["plan"])
    C = _cntk()
    variables, outs = _compose(plan, consts, params["inputs"], batch=False)
    if any(isinstance(o.var, C.variables.Constant) for o in outs):
        return {"id": None}  # a constant output: nothing for a graph to compute, the interpreter serves it
    fn = C.combine([_variable(o.var) for o in outs])
    used = [v for v in variables if v in fn.arguments]
    names = [n for (n, _, _), v in zip(params["inputs"], variables) if v in fn.arguments]
    return {"id": _GRAPHS.add((fn, list(zip(names, used)), [o.dtype for o in outs]))}


def _variable(var):
    """A function's output variable: ``C.combine`` of Functions keeps their graph (and every
    constant in it) alive after the combined function is freed, in CNTK 2.7; of Variables it
    does not (measured: 64 MiB kept per released 64 MiB model)."""
    C = _cntk()
    return var.output if isinstance(var, C.Function) and len(var.outputs) == 1 else var


def run_executor(params, arrays):
    fn, feeds, dtypes = _GRAPHS.get(params["id"])
    got = fn.eval(dict((var, arrays[name].astype(var.dtype)) for name, var in feeds))
    if not isinstance(got, dict):
        got = {fn.outputs[0]: got}
    return dict(("out%d" % i, np.asarray(got[o]).astype(d)) for i, (o, d) in enumerate(zip(fn.outputs, dtypes)))


def drop_executor(params, arrays):
    _GRAPHS.drop(params["id"])
    return {}


def save_model(params, arrays):
    """Compose ``params["plan"]`` with a batch axis and save it to ``params["path"]``."""
    from onnxhub.errors import UnsupportedModel, UnsupportedOperator

    C = _cntk()
    plan = params["plan"]
    store = _plans()
    # CNTK checks shapes as it builds each function (a ValueError, or a RuntimeError from its
    # C++ core): one it refuses is a CNTK limit for this model, reported as the node's
    # UnsupportedOperator (one line), not a traceback from inside the runtime.
    store.construction_errors = (ValueError, RuntimeError)
    store.construction_note = "a CNTK limit, the importer cannot express it: CNTK refused to build it"
    try:
        store.table.check(_ops(plan), plan["opset"])
        variables, outs = _compose(plan, arrays, params["inputs"], batch=True)
    except NotImplementedError as exc:  # raised outside an op (an input); an op's arrives as UnsupportedOperator
        raise UnsupportedModel("the CNTK importer: %s" % exc)
    except UnsupportedOperator as exc:  # the importer's words, not the backend's
        raise UnsupportedOperator(exc.op_type, opset=exc.opset, node=exc.node, domain=exc.domain,
                                  where="the CNTK importer")
    finally:
        del store.construction_errors, store.construction_note  # back to the class's: the backend is unchanged
    for name, o in zip(plan["outputs"], outs):
        if not o.batch:
            raise UnsupportedModel("the CNTK importer: graph output %r does not depend on a batch input, so "
                                   "CNTK would save it without the batch axis" % name)
    fn = C.combine([C.alias(o.var, name=n) for o, n in zip(outs, plan["outputs"])]) if len(outs) > 1 else \
        C.alias(outs[0].var, name=plan["outputs"][0])
    fn.save(params["path"])
    return {"outputs": [[list(o.var.shape), o.dtype] for o in outs]}


def _ops(plan):
    return sorted(set((n.get("domain") or "", n["op"]) for n in plan["nodes"]))
