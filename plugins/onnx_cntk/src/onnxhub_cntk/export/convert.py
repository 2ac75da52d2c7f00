"""The CNTK exporter's operator table and conversion context.

Op functions (``ops/*.py``) are registered on ``TABLE`` under CNTK's primitive op names
and receive ``(ctx, fn, inputs)``: ``ctx`` is a ``CNTKBuilder`` (onnxhub's
``GraphBuilder`` plus CNTK's layout rules), ``fn`` the ``formats.model.Function`` and
``inputs`` one ``Tensor`` per CNTK input; they return one ``Tensor`` per output.
Blocks (``Dense``, ``LSTM``...) are expanded into their bodies unless the table has the
block's op name in domain ``BLOCKS``, registered like ``@TABLE.register("LSTM", domain=BLOCKS)``.

Layout (CNTK's own exporter and ONNX's RNN ops agree): a CNTK value with only a batch axis
is ``[batch, *static]``, one with a sequence axis ``[sequence, batch, *static]``; a weight
or constant is ``[*static]``. ``static`` is CNTK's static shape in NumPy order (channels first).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from onnxhub.export import GraphBuilder
from onnxhub.optable import OpTable

WHERE = "the CNTK exporter"
TABLE = OpTable(WHERE, domain="cntk")
BLOCKS = "cntk.block"
BATCH, SEQUENCE = ("batch",), ("sequence", "batch")


class Tensor(NamedTuple):
    """An ONNX tensor holding a CNTK value: ``dyn`` leading dynamic axes, then the static ``shape``."""

    name: str
    dyn: tuple
    shape: tuple

    @property
    def rank(self) -> int:
        return len(self.dyn) + len(self.shape)

    def axis(self, static_axis: int) -> int:
        """The ONNX axis of NumPy-order static axis ``static_axis`` (negative counts from the end)."""
        return len(self.dyn) + (static_axis % len(self.shape) if self.shape else 0)


def numpy_axis(stored_index: int, rank: int) -> int:
    """A stored (C++ order) static axis index as a NumPy-order axis of a rank-``rank`` shape."""
    index = stored_index if stored_index >= 0 else stored_index + rank
    return rank - 1 - index


def per_axis(values, i: int):
    """CNTK's rule for per-axis attributes: one value stands for every axis."""
    return values[0] if len(values) == 1 else values[i] if i < len(values) else values[-1]


class CNTKBuilder(GraphBuilder):
    """A ``GraphBuilder`` that knows CNTK's layout: dynamic axes first, static shape after."""

    def __init__(self, opset: int):
        super().__init__(opset, where=WHERE)

    def at_function(self, fn) -> None:
        """Convert ``fn`` next (None when done): new names and errors name it."""
        self.at(getattr(fn, "op", None), getattr(fn, "name", None) or getattr(fn, "uid", None))

    def taken(self, name: str) -> bool:
        return name in self._names

    def rename(self, tensor: str, wanted: str) -> str:
        """Give a node's output the name ``wanted`` (a graph output's CNTK name) when it is free."""
        if wanted in self._names:
            return tensor
        for node in reversed(self.nodes):
            if tensor in node.output:
                self.claim(wanted)
                for other in self.nodes:  # the producer and any node that reads it
                    for field in (other.input, other.output):
                        for i, name in enumerate(field):
                            if name == tensor:
                                field[i] = wanted
                return wanted
        return tensor  # an input or a weight passed straight through keeps its name

    def like(self, t: Tensor, name: str, shape=None, dyn=None) -> Tensor:
        """A result with ``t``'s dynamic axes (or ``dyn``) and ``t``'s static shape (or ``shape``)."""
        return Tensor(name, t.dyn if dyn is None else dyn, t.shape if shape is None else tuple(shape))

    def reshape_static(self, t: Tensor, shape) -> Tensor:
        """``t`` with static shape ``shape``; its dynamic axes are kept (Reshape's 0 copies them)."""
        shape = tuple(shape)
        if shape == t.shape:
            return t
        arr = self.value(t.name)
        if arr is not None and not t.dyn:
            return Tensor(self.const(arr.reshape(shape), name=f"{t.name}_reshaped"), (), shape)
        dims = [0] * len(t.dyn) + [-1 if d is None else d for d in shape]
        return Tensor(self.one("Reshape", [t.name, self.ints(dims)]), t.dyn, shape)

    def align(self, *tensors: Tensor) -> tuple[list, tuple, tuple]:
        """CNTK broadcasting as ONNX broadcasting: ``(names, dyn, static shape)`` of the result.

        Static shapes broadcast NumPy-style (CNTK aligns them at the innermost axis); a value
        with fewer dynamic or static axes than the result gets size-1 axes where they are missing.
        """
        dyn = max((t.dyn for t in tensors), key=len)
        if any(t.dyn and t.dyn != dyn[-len(t.dyn):] for t in tensors):
            raise self.unsupported("operands with different dynamic axes")
        shape = tuple(np.broadcast_shapes(*(tuple(1 if d is None else d for d in t.shape) for t in tensors)))
        shape = tuple(None if any(len(t.shape) >= len(shape) - i and t.shape[i - len(shape)] is None
                                  for t in tensors) else d for i, d in enumerate(shape))
        names = []
        for t in tensors:
            if t.dyn:
                missing = [i for i in range(len(dyn) - len(t.dyn))]
                missing += [len(dyn) + i for i in range(len(shape) - len(t.shape))]
                names.append(self.unsqueeze(t.name, missing) if missing else t.name)
            else:
                names.append(t.name)  # static operands broadcast from the right already
        return names, dyn, shape

    def scalar_value(self, t: Tensor) -> float:
        """The value of a one-element constant (Clip bounds, delay initial values)."""
        arr = self.value(t.name)
        if arr is None or arr.size != 1:
            raise self.unsupported(f"operand {t.name!r} must be a one-element constant")
        return float(arr.reshape(()))
