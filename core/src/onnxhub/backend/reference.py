"""The embedded default backend: ``onnx.reference.ReferenceEvaluator`` (pure numpy)."""

from __future__ import annotations

import onnx
from onnx.backend.base import BackendRep, namedtupledict
from onnx.reference import ReferenceEvaluator

from ..errors import UnsupportedModel, UsageError
from .base import HubBackend, bind_inputs, check_versions, graph_input_names, normalize_device


class ReferenceRep(BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.input_names = graph_input_names(model)
        self.output_names = [o.name for o in model.graph.output]
        self._session = ReferenceEvaluator(model)

    def run(self, inputs, **kwargs):
        feeds = bind_inputs(self.input_names, inputs)
        outputs = self._session.run(None, feeds)
        return namedtupledict("Outputs", self.output_names)(*outputs)


class ReferenceBackend(HubBackend):
    name = "reference"
    devices = ("cpu",)

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        if not cls.supports_device(device):
            raise UsageError(f"backend 'reference' runs on cpu only, not {normalize_device(device)!r}")
        if options:
            raise UsageError(f"backend 'reference' takes no options (got {sorted(options)})")
        check_versions(model, backend=cls.name, max_ir=onnx.IR_VERSION, max_opset=onnx.defs.onnx_opset_version())
        super().prepare(model, device)  # ONNX's base validates the model here
        try:
            return ReferenceRep(model)
        except NotImplementedError as exc:
            raise UnsupportedModel(f"reference backend: {exc}") from exc
