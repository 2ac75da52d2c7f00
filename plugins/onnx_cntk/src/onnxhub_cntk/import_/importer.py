"""ONNX -> a CNTK 2.7 ``.model`` file that plain CNTK loads (``cntk.load_model``) and evaluates.

CNTK's protobuf graph format is not practical to write by hand (uids, block functions,
dynamic axes), so the graph is composed by real CNTK in the ``cntk`` runtime, through the
worker bridge, with the backend's own operator table (``runtime_side/ops/``), and saved
there with ``Function.save``.

``onnxhub.import_.prepare_model`` first brings the model into the table's opset window
(13-21), fixes input shapes (free dims become 1) and folds shape-only subgraphs to
constants. The first dimension of every graph input becomes CNTK's dynamic batch axis
(``input_variable(shape[1:])``): the saved model takes any batch size, and ops see
per-sample shapes. What cannot be said with a batch axis (an op along axis 0, a reshape
or transpose that moves it, a scalar input, an output without it) is refused (exit 2),
naming the op; a static-batch fallback is not offered, since the file would then take one
batch size only.
"""

from __future__ import annotations

from pathlib import Path

from onnxhub.errors import UsageError
from onnxhub.import_ import prepare_model

from .. import native
from ..backend import CNTKBackend

MIN_OPSET, MAX_OPSET = 13, 21


class CNTKImporter:
    timeout = 600.0

    def import_model(self, model, output_dir, input_shapes=None, name: str | None = None, **options):
        """Write ``NAME.model`` (default ``model.model``) into ``output_dir``."""
        if options:
            raise UsageError(f"unknown CNTK importer option(s): {', '.join(sorted(options))}")
        from onnxhub.runtime.bridge import get_worker

        model = prepare_model(model, min_opset=MIN_OPSET, max_opset=MAX_OPSET, input_shapes=input_shapes,
                              where="the CNTK importer")
        plan, arrays = CNTKBackend.make_plan(model)
        declared = {vi.name: vi for vi in model.graph.input}
        inputs = []
        for input_name in plan["inputs"]:
            t = declared[input_name].type.tensor_type
            shape = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
            inputs.append([input_name, shape, CNTKBackend.check_dtype(input_name, t.elem_type, "graph input")])
        path = Path(output_dir) / f"{name or 'model'}.model"
        worker = get_worker("cntk")
        worker.call("save_model", {"plan": plan, "inputs": inputs, "path": str(path.resolve())}, arrays,
                    self.timeout)
        return [path]


IMPORTER = CNTKImporter()
IMPORTER.run_files = native.run_files  # onnxhub convert --verify
