"""Runtime-side handler: runs inside the Caffe2 runtime (torch 1.10.2, CPython 3.9, numpy 1.23).

Imported by module name by the onnxhub worker, with ``onnxhub`` and ``onnxhub_caffe2`` as
bare packages (see ``onnxhub.runtime_side.worker``): it imports the standard library,
numpy, caffe2, its own ``ops`` and onnxhub's runtime-side modules. The methods serve the
``caffe2`` backend: ``load_plan`` / ``run_plan`` / ``drop_plan`` (operator interpreter,
one Caffe2 operator per step) and ``load_nets`` / ``run_executor`` / ``drop_executor``
(the importer's init_net + predict_net, created once per input-shape signature and run with
``workspace.RunNet``).
"""

import itertools

import numpy as np

from onnxhub.runtime_side.plans import Handles, PlanStore

_PLANS = None
_NETS = Handles("net")
_SPACES = itertools.count(1)  # one Caffe2 workspace per created net, named by this counter


def _plans():
    """The plan store; Caffe2 and the operator table load on first use, not at worker start."""
    global _PLANS
    if _PLANS is None:
        from .ops import TABLE

        _PLANS = PlanStore(TABLE)  # values travel as numpy arrays between Caffe2 operators
    return _PLANS


def version(params, arrays):
    import torch

    return {"caffe2": "torch " + torch.__version__, "numpy": np.__version__}


# -- the ONNX backend: execute an ONNX graph with Caffe2's own operators --------------------
def load_plan(params, arrays):
    """Keep an ONNX graph (as a plan) for ``run_plan``; refuses, naming them all, ops the table lacks."""
    return {"id": _plans().load(params["plan"], arrays)}


def drop_plan(params, arrays):
    _plans().drop(params["id"])
    return {}


def run_plan(params, arrays):
    return _plans().run(params["id"], arrays, params.get("sequences"), params.get("nones") or ())


# -- imported nets: Caffe2's own net executor, one workspace per input-shape signature ---------
def load_nets(params, arrays):
    """Run the importer's init_net once in a fresh workspace (weights ``w:NAME`` fed), create its predict_net."""
    from caffe2.proto import caffe2_pb2
    from caffe2.python import workspace

    init, predict = caffe2_pb2.NetDef(), caffe2_pb2.NetDef()
    init.ParseFromString(arrays["init_net"].tobytes())
    predict.ParseFromString(arrays["predict_net"].tobytes())
    space = "onnxhub_net_%d" % next(_SPACES)
    previous = workspace.CurrentWorkspace()
    workspace.SwitchWorkspace(space, True)
    try:
        workspace.RunNetOnce(init)
        for key, value in arrays.items():
            if key.startswith("w:"):
                workspace.FeedBlob(key[2:], value)
        for name, shape, dtype in params["inputs"]:
            workspace.FeedBlob(name, np.zeros(shape, dtype))
        workspace.CreateNet(predict, True)
    finally:
        workspace.SwitchWorkspace(previous)
    inputs = [n for n, _, _ in params["inputs"]]
    return {"id": _NETS.add((space, predict.name, inputs, list(predict.external_output)))}


def run_executor(params, arrays):
    from caffe2.python import workspace

    space, net, inputs, outputs = _NETS.get(params["id"])
    previous = workspace.CurrentWorkspace()
    workspace.SwitchWorkspace(space)
    try:
        for name in inputs:
            workspace.FeedBlob(name, arrays[name])
        workspace.RunNet(net)
        return {"out%d" % i: workspace.FetchBlob(name) for i, name in enumerate(outputs)}
    finally:
        workspace.SwitchWorkspace(previous)


def drop_executor(params, arrays):
    """Forget the net and free its workspace's blobs (the weights)."""
    from caffe2.python import workspace

    try:
        space = _NETS.get(params["id"])[0]
    except LookupError:
        return {}
    _NETS.drop(params["id"])
    previous = workspace.CurrentWorkspace()
    if previous != space:
        try:
            workspace.SwitchWorkspace(space)
            workspace.ResetWorkspace()
        finally:
            workspace.SwitchWorkspace(previous)
    return {}
