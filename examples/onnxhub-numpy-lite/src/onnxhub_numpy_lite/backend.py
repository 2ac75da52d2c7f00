"""A tiny interpreter over ``ops.TABLE``, shaped like ``onnx.backend.base``.

``HubBackend.prepare`` checks the device and options; ``prepare_rep`` looks every
node's function up once (at the model's opset for the node's domain), so a model with
operators the table lacks fails in ``prepare`` with one ``UnsupportedOperator`` naming
them all, and ``run`` only calls functions.
"""

from __future__ import annotations

import onnx
from onnx import numpy_helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, graph_input_names

from .ops import TABLE


def _domain(node) -> str:
    return "" if node.domain == "ai.onnx" else node.domain


def plan(model: onnx.ModelProto) -> list[tuple]:
    """``[(fn, input names, output names, attributes)]`` per node; raises for every op the table lacks."""
    opsets = {"" if i.domain == "ai.onnx" else i.domain: i.version for i in model.opset_import}
    steps, gaps = [], []
    for node in model.graph.node:
        entry = TABLE.lookup(node.op_type, opsets.get(_domain(node), 0), _domain(node))
        if entry is None:
            gaps.append(node)
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        steps.append((entry.fn, list(node.input), list(node.output), attrs))
    if gaps:
        first = gaps[0]
        ops = ", ".join(sorted({n.op_type for n in gaps}))
        raise TABLE.unsupported(ops, opsets.get(_domain(first)), _domain(first), node=first.name or None)
    return steps


class NumpyLiteRep(BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.steps = plan(model)
        self.input_names = graph_input_names(model)
        self.output_names = [o.name for o in model.graph.output]
        self.initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def run(self, inputs, **kwargs):
        values = dict(self.initializers)
        values.update(bind_inputs(self.input_names, inputs))
        for fn, names, outputs, attrs in self.steps:
            values.update(zip(outputs, fn(*[values[n] if n else None for n in names], **attrs)))
        return [values[name] for name in self.output_names]


class NumpyLiteBackend(HubBackend):
    name = "numpy-lite"
    devices = ("cpu",)
    options = ()  # prepare() takes none

    @classmethod
    def prepare_rep(cls, model, device, **options):
        return NumpyLiteRep(model)
