"""The MXNet importer's operator table: one function per ONNX op, one module per family.

``fn(g, node)`` writes MXNet legacy operators for ``node`` and returns the output reference
(or a list, one per ONNX output). ``g`` is the ``importer.Graph`` being written, an
``onnxhub.import_.ImportContext``: constants, inferred shapes, the model's opset.
Registrations carry ONNX's opset ranges; the importer only asks for opsets 13-21
(``prepare_model`` converts the rest), so forms older than 13 are not registered.
"""

from onnxhub.optable import OpTable

TABLE = OpTable("the MXNet importer")

from . import activation, elementwise, nn, tensor  # noqa: E402,F401  (each registers its family)
