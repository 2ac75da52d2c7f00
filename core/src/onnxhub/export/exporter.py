"""The exporter base class: streaming export, the full-model form on top, the opset window.

An exporter subclasses ``Exporter``, sets ``where``, ``min_opset`` and ``max_opset`` and
implements ``build(files, opset, **options) -> (model without initializers,
[(name, array)])``. onnxhub calls ``export_streaming`` for ``onnxhub export`` (weights
written one at a time) and ``export`` for the Python API and ``convert``.
"""

from __future__ import annotations

from ..errors import UsageError


class Exporter:
    """Framework files -> ONNX. Subclasses implement ``build``."""

    where = "the exporter"  # for messages: "the MXNet exporter"
    min_opset = 13  # the target opsets the exporter writes
    max_opset = 21
    table = None  # its OpTable, keyed by the framework's op names and the target opset (for docs)

    def export(self, files, opset: int = 17, **options):
        """A complete ``onnx.ModelProto``: ``export_streaming`` with the weights put in."""
        model, weights = self.export_streaming(files, opset, **options)
        return with_initializers(model, weights)

    def export_streaming(self, files, opset: int = 17, **options):
        """``(model without initializers, [(name, array)])`` for ``modelio.save_streaming``."""
        self.check_opset(opset)
        return self.build(files, opset, **options)

    def build(self, files, opset: int, **options):
        raise NotImplementedError

    def check_opset(self, opset: int) -> None:
        """``UsageError`` for a target opset outside ``min_opset..max_opset``."""
        if not self.min_opset <= opset <= self.max_opset:
            raise UsageError(f"{self.where} writes opsets {self.min_opset} to {self.max_opset}, not {opset}")

    def check_options(self, options: dict) -> None:
        """``UsageError`` naming options the exporter does not take (call with what ``build`` left over)."""
        if options:
            raise UsageError(f"unknown option(s) for {self.where}: {', '.join(sorted(options))}")


def with_initializers(model, weights):
    """``model`` with ``weights`` (``[(name, array)]``) appended as initializers, in place."""
    import numpy as np
    from onnx import numpy_helper

    model.graph.initializer.extend(numpy_helper.from_array(np.require(a, requirements="C"), n) for n, a in weights)
    return model


def check_supported(table, nodes, opset: int) -> None:
    """One ``UnsupportedOperator`` naming every op of ``nodes`` that ``table`` lacks at ``opset``.

    ``nodes`` yields ``(op, node name)``; the message names each missing op once, with
    the first node that uses it, so one run shows the whole gap.
    """
    first = {}
    for op, name in nodes:
        first.setdefault(op, name)
    gaps = table.missing(first, opset)
    if gaps:
        label = ", ".join(f"{op} (node {first[op]!r})" for op in gaps)
        raise table.unsupported(label, opset)
