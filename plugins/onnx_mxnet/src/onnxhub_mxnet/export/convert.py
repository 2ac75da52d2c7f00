"""The MXNet exporter's operator table and conversion context.

Op functions (``ops/*.py``) are registered on ``TABLE`` and receive ``(ctx, node, inputs)``:
``ctx`` is an ``MXNetBuilder`` (onnxhub's ``GraphBuilder`` plus what only MXNet needs),
``inputs`` the ONNX tensor names of the MXNet node's inputs; they return the names of
its outputs. Registration keywords: ``params`` (input slots that hold weights) and
``lazy_zeros`` (the op accepts a zeros tensor of a run-time shape).
"""

from __future__ import annotations

from onnxhub.errors import InvalidModel
from onnxhub.export import GraphBuilder
from onnxhub.optable import OpTable

from ..formats.attrs import Attrs

WHERE = "the MXNet exporter"
TABLE = OpTable(WHERE, domain="mxnet")


class MXNetBuilder(GraphBuilder):
    """A ``GraphBuilder`` that knows the MXNet node being converted and MXNet's run-time zeros."""

    def __init__(self, opset: int):
        super().__init__(opset, where=WHERE)
        self.node = None  # the MXNet node being converted
        self._lazy_zeros: set[str] = set()

    def at_node(self, node) -> None:
        """Convert ``node`` next (None when done): new names and errors name it."""
        self.node = node
        self.at(getattr(node, "op", None), getattr(node, "name", None))

    def rename(self, tensor: str, wanted: str) -> str:
        """Give a node's final output MXNet's name for it (``conv0_output``), when it is free."""
        if wanted in self._names or tensor in self.constants or tensor in {vi.name for vi in self.inputs}:
            return tensor
        for node in reversed(self.nodes):
            if tensor in node.output:
                node.output[list(node.output).index(tensor)] = self.claim(wanted)
                return wanted
        return tensor

    def lazy_zeros(self, name: str) -> str:
        """A zeros tensor of a shape MXNet infers at run time; only ops registered with ``lazy_zeros`` read it."""
        name = self.fresh(name)
        self._lazy_zeros.add(name)
        return name

    def is_lazy_zeros(self, tensor: str) -> bool:
        return tensor in self._lazy_zeros

    def expect_shape(self, tensor: str, shape: tuple, what: str) -> None:
        """Fail clearly when a weight's shape disagrees with the node's attributes (None = any)."""
        arr = self.value(tensor)
        if arr is None:
            return
        ok = arr.ndim == len(shape) and all(w is None or w == d for w, d in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
            raise InvalidModel(f"node {self.node.name!r} ({self.node.op}): {what} {tensor!r} has shape "
                               f"{tuple(arr.shape)} in the .params file, but the symbol needs {want}")


def attrs(node) -> Attrs:
    return Attrs(node)
