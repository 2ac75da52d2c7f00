"""ONNX operators executed by real MXNet 1.9.1 kernels (``mxnet.np`` / ``mxnet.npx``), by family.

Every module registers into ``common.TABLE``; importing this package registers them all.
"""

from . import (  # noqa: F401
               activations,
               attention,
               elementwise,
               generators,
               indexing,
               linalg,
               losses,
               nn,
               normalization,
               quantize,
               reduce,
               resize,
               rnn,
               shape,
)
from .common import TABLE

__all__ = ["TABLE"]
