"""``ImportContext``: one import in progress, handed to every function of an importer's table.

It holds what op functions read off the prepared ONNX model (constants, shapes, types,
the opset, the node being converted) and runs the loop every importer shares: list every
op the table lacks at once, then call one function per node in graph order. A framework
subclasses it with its own graph writer and ``bind``::

    class Graph(ImportContext):
        def bind(self, node, result):        # record what the framework made for node.output
            ...

    g = Graph(prepare_model(model, min_opset=13, max_opset=21, where=TABLE.where), TABLE)
    g.run()
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperator
from .info import ONNX_DOMAINS, constants, elem_types, model_opset, shape_table, used_names

# What an op function raises when the node has a form it does not express (an input it
# needs as a constant is computed, an attribute value it does not know): the op is
# unsupported in that form, not a bug of the importer.
FORM_ERRORS = (KeyError, IndexError, TypeError, ValueError, OverflowError, ZeroDivisionError)


class ImportContext:
    """The prepared model's facts, the current ``node``, fresh names and the conversion loop.

    :param model: a model ``prepare_model`` returned.
    :param table: the importer's ``OpTable`` (functions ``fn(ctx, node)``), keyed by ONNX op
        name and the model's opset.
    """

    def __init__(self, model, table):
        self.model, self.table, self.where = model, table, table.where
        self.opset = model_opset(model)
        self.consts: dict[str, np.ndarray] = constants(model)
        self.shapes: dict[str, list] = shape_table(model)
        self.types: dict[str, int] = elem_types(model)
        self.consumed: set[str] = used_names(model.graph)  # read by some node or a graph output
        self.inputs: list[str] = [vi.name for vi in model.graph.input if vi.name not in self.consts]
        self.node = None  # the ONNX node being converted
        self._names: set[str] = set()

    # -- the loop --------------------------------------------------------------------
    def run(self) -> None:
        """``check()``, then each node's table function in order, its result given to ``bind``."""
        self.check()
        for node in self.model.graph.node:
            self.node = node
            fn = self.table.get(node.op_type, self.opset, _domain(node), node=_label(node))
            try:
                result = fn(self, node)
            except FORM_ERRORS as exc:
                raise self.unsupported(f"{type(exc).__name__}: {exc}") from exc
            self.bind(node, result)
        self.node = None

    def check(self) -> None:
        """One ``UnsupportedOperator`` naming every op the table lacks (and the first such node)."""
        nodes = self.model.graph.node
        gaps = self.table.missing([(_domain(n), n.op_type) for n in nodes], self.opset)
        if gaps:
            first = next(n for n in nodes if not self.table.supports(n.op_type, self.opset, _domain(n)))
            raise self.table.unsupported(", ".join(gaps), self.opset, node=_label(first))

    def bind(self, node, result) -> None:
        """Record ``result`` (what the table function returned) as ``node``'s outputs."""
        raise NotImplementedError

    # -- what op functions use -------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A name not handed out before: ``base``, else ``base_1``, ``base_2``..."""
        base = base or "node"
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def shape(self, tensor: str) -> list | None:
        """The tensor's dims (None where unknown), or None when its rank is unknown."""
        return self.shapes.get(tensor)

    def rank(self, tensor: str) -> int | None:
        shape = self.shapes.get(tensor)
        return None if shape is None else len(shape)

    def constant(self, tensor: str, what: str = "an input") -> np.ndarray:
        """The tensor's constant value; the node is unsupported when it is computed."""
        value = self.consts.get(tensor)
        if value is None:
            raise self.unsupported(f"{what} that is not constant")
        return value

    def scalar(self, tensor: str, what: str = "an input") -> float:
        value = self.consts.get(tensor)
        if value is None or value.size != 1:
            raise self.unsupported(f"{what} that is not a constant scalar")
        return float(value.reshape(-1)[0])

    def ints(self, tensor: str, what: str = "an input") -> list[int]:
        return [int(v) for v in self.constant(tensor, what).reshape(-1)]

    @staticmethod
    def input(node, i: int) -> str | None:
        """The name of the node's ``i``-th input, or None when it is absent (optional, empty)."""
        return node.input[i] if len(node.input) > i and node.input[i] else None

    def input_ints(self, node, i: int, what: str = "an input") -> list[int] | None:
        """The constant ints of optional input ``i`` (axes, pads...), or None when it is absent."""
        name = self.input(node, i)
        return None if name is None else self.ints(name, what)

    def output_used(self, node, i: int) -> bool:
        """Whether anything reads the node's ``i``-th output (e.g. a mask or indices output)."""
        return len(node.output) > i and node.output[i] in self.consumed

    def unsupported(self, detail: str = "") -> UnsupportedOperator:
        """The error for the current node in the form it has (``detail`` says which part)."""
        node = self.node
        return self.table.unsupported(node.op_type, self.opset, _domain(node), node=_label(node), detail=detail)


def _domain(node) -> str:
    return "" if node.domain in ONNX_DOMAINS else node.domain


def _label(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)
