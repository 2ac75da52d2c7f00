"""Convolution and pooling geometry of ONNX nodes, ``auto_pad`` resolved to explicit pads.

Frameworks take kernel, strides, dilations and (usually symmetric) pads; ONNX also has
``auto_pad=SAME_UPPER/SAME_LOWER``, whose pads depend on the input's spatial size. Errors
are ``ValueError`` naming the attribute, which an ``ImportContext`` reports as the node's
``UnsupportedOperator``.
"""

from __future__ import annotations

from typing import NamedTuple


class ConvGeometry(NamedTuple):
    """Per spatial axis: kernel, strides, dilations, pads before (``begin``) and after (``end``)."""

    kernel: list
    strides: list
    dilations: list
    begin: list
    end: list
    group: int

    @property
    def symmetric(self) -> bool:
        return self.begin == self.end


def conv_geometry(attrs: dict, kernel=None, input_shape=None, transposed: bool = False) -> ConvGeometry:
    """The geometry of a Conv, ConvTranspose or *Pool node from its ``attributes()``.

    :param kernel: the spatial kernel when the node has no ``kernel_shape`` (a Conv's
        weight shape ``[2:]``).
    :param input_shape: the input's full shape (N, C, spatial...), needed by ``SAME_*``.
    :param transposed: a ConvTranspose, whose ``SAME_*`` pads depend on the output shape:
        refused.
    """
    kernel = [int(k) for k in (attrs.get("kernel_shape") or kernel or [])]
    if not kernel:
        raise ValueError("no kernel_shape")
    n = len(kernel)
    strides = [int(s) for s in attrs.get("strides") or [1] * n]
    dilations = [int(d) for d in attrs.get("dilations") or [1] * n]
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = [int(p) for p in attrs.get("pads") or [0] * (2 * n)]
        if len(pads) != 2 * n:
            raise ValueError(f"pads {pads} for a {n}-D kernel")
        begin, end = pads[:n], pads[n:]
    elif auto == "VALID":
        begin, end = [0] * n, [0] * n
    elif auto in ("SAME_UPPER", "SAME_LOWER") and not transposed:
        spatial = list(input_shape or [])[2:]
        if len(spatial) != n or any(not isinstance(d, int) for d in spatial):
            raise ValueError(f"auto_pad={auto} with an input of unknown spatial shape")
        begin, end = same_pads(spatial, kernel, strides, dilations, upper=auto == "SAME_UPPER")
    else:
        raise ValueError(f"auto_pad={auto}" + (" on a transposed convolution" if transposed else ""))
    return ConvGeometry(kernel, strides, dilations, begin, end, int(attrs.get("group", 1)))


def same_pads(spatial, kernel, strides, dilations, upper: bool = True) -> tuple[list, list]:
    """``(begin, end)`` pads giving an output of ``ceil(in / stride)``; the odd one at the end if ``upper``."""
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if upper else large)
        end.append(large if upper else small)
    return begin, end
