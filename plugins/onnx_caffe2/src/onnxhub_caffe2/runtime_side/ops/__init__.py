"""ONNX operators executed by real Caffe2 kernels (torch 1.10.2's Caffe2), by family.

Every module registers into ``common.TABLE``; importing this package registers them all.
"""

from . import activations, attention, elementwise, losses, nn, normalization, quantize, reduce, resize, rnn, shape  # noqa: F401
from .common import TABLE

__all__ = ["TABLE"]
