"""Runtime-side handler of the test runtime (CPython 3.6 + numpy 1.19.5, no framework).

Valid Python 3.6: it runs inside that interpreter, loaded by path by the worker.
"""

import ctypes
import os
import sys
import time

import numpy as np


def echo(params, arrays):
    print("a stray print must not corrupt the protocol")
    out = dict(arrays)
    out["python"] = "%d.%d" % sys.version_info[:2]
    out["numpy"] = np.__version__
    return out


def add(params, arrays):
    return {"sum": arrays["a"] + arrays["b"] * params.get("scale", 1)}


def fail(params, arrays):
    raise ValueError("bad value from the runtime: %s" % params.get("what"))


def crash(params, arrays):
    sys.stderr.write("about to exit hard\n")
    sys.stderr.flush()
    os._exit(7)


def segfault(params, arrays):
    ctypes.string_at(0)


def hang(params, arrays):
    time.sleep(3600)


def garbage(params, arrays):
    import __main__

    os.write(__main__.PROTOCOL_FD, b"\xff" * 32)
    time.sleep(3600)


def pid(params, arrays):
    return {"pid": os.getpid()}


# -- plans: the runtime-side half of onnxhub.backend.runtime, on plain numpy -----------------
from onnxhub.optable import OpTable  # noqa: E402  (imported by name: onnxhub is a bare package here)
from onnxhub.runtime_side.plans import Handles, PlanStore  # noqa: E402

TABLE = OpTable("the test runtime")
TABLE.add("Add", lambda inputs, attrs: [inputs[0] + inputs[1]])
TABLE.add("Mul", lambda inputs, attrs: [inputs[0] * inputs[1]])
TABLE.add("MatMul", lambda inputs, attrs: [inputs[0] @ inputs[1]])
TABLE.add("Relu", lambda inputs, attrs: [np.maximum(inputs[0], 0)], since=6)


@TABLE.register("Pad", since=11)
def pad(inputs, attrs):
    raise NotImplementedError("Pad mode %s" % attrs.get("mode", "constant"))


PLANS = PlanStore(TABLE)
EXECUTORS = Handles("executor")


def load_plan(params, arrays):
    return {"id": PLANS.load(params["plan"], arrays)}


def run_plan(params, arrays):
    return PLANS.run(params["id"], arrays)


def drop_plan(params, arrays):
    PLANS.drop(params["id"])
    return {}


def load_executor(params, arrays):
    """A stand-in fast path: runs plan ``plan``, off by ``error`` (to test the first-run check)."""
    return {"id": EXECUTORS.add((params["plan"], params.get("error", 0)))}


def run_executor(params, arrays):
    plan, error = EXECUTORS.get(params["id"])
    out = PLANS.run(plan, arrays)
    return dict((k, v + error) for k, v in out.items())


def drop_executor(params, arrays):
    EXECUTORS.drop(params["id"])
    return {}


def counts(params, arrays):
    return {"plans": len(PLANS), "executors": len(EXECUTORS)}


def imports(params, arrays):
    """How this handler was imported: onnxhub bare (no __init__ run), no sys.path entry for it."""
    import onnxhub

    here = os.path.dirname(os.path.abspath(__file__))
    return {"onnxhub_init_ran": hasattr(onnxhub, "__file__") and onnxhub.__file__ is not None,
            "pluggy": "pluggy" in sys.modules, "handler_dir_on_path": here in sys.path,
            "name": __name__}
