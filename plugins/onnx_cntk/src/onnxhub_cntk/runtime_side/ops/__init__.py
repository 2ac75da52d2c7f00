"""ONNX operators built from real CNTK 2.7 ops (``cntk.ops``), by family.

Every module registers into ``common.TABLE``; importing this package registers them all.
"""

from . import attention, elementwise, indexing, losses, nn, reduce, resize, shape  # noqa: F401
from .common import TABLE

__all__ = ["TABLE"]
