"""The Caffe2 importer's operator table: one function per ONNX op, one module per family.

``fn(g, node)`` writes Caffe2 operators for ``node`` into ``g.predict`` and returns the output
blob (or a list, one per ONNX output). ``g`` is the ``importer.Graph`` being written, an
``onnxhub.import_.ImportContext``: constants, inferred shapes, the model's opset. The
importer only asks for opsets 13 and newer (``prepare_model`` converts older models), so
forms older than 13 are not registered.
"""

from onnxhub.optable import OpTable

TABLE = OpTable("the Caffe2 importer")

from . import elementwise, nn, tensor  # noqa: E402,F401  (each registers its family)
