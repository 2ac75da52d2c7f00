"""The embedded default backend: ``onnx.reference.ReferenceEvaluator`` (pure numpy).

Where ``onnx.reference`` is wrong or lacks a kernel, ``reference_ops`` supplies one
(through the evaluator's ``new_ops``); ImageDecoder needs Pillow, a core dependency.
"""

from __future__ import annotations

import onnx
from onnx.backend.base import BackendRep, namedtupledict
from onnx.reference import ReferenceEvaluator

from ..errors import UnsupportedModel
from .base import HubBackend, bind_inputs, graph_input_names
from .reference_ops import new_ops


class ReferenceRep(BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.input_names = graph_input_names(model)
        self.output_names = [o.name for o in model.graph.output]
        self._session = ReferenceEvaluator(model, new_ops=new_ops(model))

    def run(self, inputs, **kwargs):
        feeds = bind_inputs(self.input_names, inputs)
        outputs = self._session.run(None, feeds)
        return namedtupledict("Outputs", self.output_names)(*outputs)


class ReferenceBackend(HubBackend):
    name = "reference"
    devices = ("cpu",)
    max_ir = onnx.IR_VERSION
    max_opset = onnx.defs.onnx_opset_version()
    options = ()

    @classmethod
    def prepare_rep(cls, model, device, **options):
        onnx.checker.check_model(model)  # what ONNX's Backend.prepare does; the evaluator trusts the model
        try:
            return ReferenceRep(model)
        except NotImplementedError as exc:
            raise UnsupportedModel(f"reference backend: {exc}") from exc
