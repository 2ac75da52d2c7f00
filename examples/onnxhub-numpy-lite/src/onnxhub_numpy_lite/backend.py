"""A tiny interpreter over ``ops.OPS``, shaped like ``onnx.backend.base``."""

from __future__ import annotations

import onnx
from onnx import numpy_helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, graph_input_names, model_opset
from onnxhub.errors import UnsupportedOperator

from .ops import OPS

MIN_OPSET = 7


def _attributes(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class NumpyLiteRep(BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.graph = model.graph
        self.input_names = graph_input_names(model)
        self.initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def run(self, inputs, **kwargs):
        values = dict(self.initializers)
        values.update(bind_inputs(self.input_names, inputs))
        for node in self.graph.node:
            args = [values[name] if name else None for name in node.input]
            outputs = OPS[node.op_type](*args, **_attributes(node))
            values.update(zip(node.output, outputs))
        return [values[o.name] for o in self.graph.output]


class NumpyLiteBackend(HubBackend):
    name = "numpy-lite"
    devices = ("cpu",)

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        super().prepare(model, device)
        opset = model_opset(model)
        for node in model.graph.node:
            if opset is not None and opset < MIN_OPSET:  # before opset 7, broadcasting was an attribute
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None,
                                          where=f"numpy-lite (opsets {MIN_OPSET}+)")
            if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
                raise UnsupportedOperator(node.op_type, opset=opset, node=node.name or None, domain=node.domain,
                                          where="numpy-lite")
        return NumpyLiteRep(model)
