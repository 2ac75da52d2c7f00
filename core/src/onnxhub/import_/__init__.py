"""The importer kit: what every ONNX -> framework importer shares.

- ``prepare_model`` (``prepare.py``): refuse foreign operator domains, bring the model into
  the importer's opset window, fix input shapes, infer shapes, fold shape-only subgraphs.
- ``ImportContext`` (``context.py``): the facts op functions read, and the loop over an
  ``onnxhub.optable.OpTable`` that lists every unsupported op at once.
- ``constants``, ``shape_table``, ``elem_types``, ``attributes``... (``info.py``) and
  ``conv_geometry`` (``geometry.py``: ``auto_pad`` resolved to explicit pads).

Imports onnx and numpy: load it from an importer, never from a plugin's entry point.
"""

from .context import ImportContext
from .geometry import ConvGeometry, conv_geometry, same_pads
from .info import (
    ONNX_DOMAINS,
    attributes,
    constant_value,
    constants,
    elem_types,
    model_opset,
    node_domains,
    shape_table,
    used_names,
)
from .prepare import (
    FOLDABLE,
    check_domains,
    fix_input_shapes,
    fold_constants,
    infer_shapes,
    prepare_model,
    to_opset_window,
)

__all__ = [
    "FOLDABLE", "ONNX_DOMAINS", "ConvGeometry", "ImportContext", "attributes", "check_domains", "constant_value",
    "constants", "conv_geometry", "elem_types", "fix_input_shapes", "fold_constants", "infer_shapes",
    "model_opset", "node_domains", "prepare_model", "same_pads", "shape_table", "to_opset_window", "used_names",
]
