"""The cases of the ONNX backend test suite shipped with the installed onnx."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

# What onnx.backend.test.BackendTest collects, in its order.
KINDS = ("node", "real", "simple", "pytorch-converted", "pytorch-operator")


@dataclass(frozen=True)
class Case:
    name: str  # the BackendTest method name, e.g. "test_abs_cpu"
    kind: str
    op: str  # the operator a node case is about; "(kind)" for whole-model cases


def collect(device: str = "cpu", pattern: str | None = None) -> list[Case]:
    from onnx.backend.test.loader import load_model_tests

    regex = re.compile(pattern) if pattern else None
    cases = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generating node cases warns about overflows
        for kind in KINDS:
            for tc in load_model_tests(kind=kind):
                name = f"{tc.name}_{device.lower()}"
                if regex is not None and not regex.search(name):
                    continue
                if kind == "node" and tc.model is not None:
                    op = operator_of(tc.name, [n.op_type for n in tc.model.graph.node])
                else:
                    op = f"({kind})"
                cases.append(Case(name, kind, op))
    return cases


def operator_of(case_name: str, op_types: list[str]) -> str:
    """The operator a node case is about: the op whose name starts the test name.

    An ``_expanded`` case's graph is the operator's function body (``ReduceL1`` as
    ``Abs`` + ``ReduceSum``, ``CastLike`` as ``Cast``), so its operator is looked up
    among every ONNX operator first; a plain case's among its graph's ops first.
    """
    stem = case_name.removeprefix("test_").replace("_", "").lower()
    for short, op in _ALIASES.items():
        if stem.startswith(short):
            return op
    graph, every = _longest_prefix(stem, op_types), _longest_prefix(stem, _all_operators())
    best = (every or graph) if "expanded" in stem else (graph or every)
    return best or (op_types[0] if op_types else "?")


# Test names that do not spell their operator out.
_ALIASES = {"mvn": "MeanVarianceNormalization", "nllloss": "NegativeLogLikelihoodLoss",
            "sce": "SoftmaxCrossEntropyLoss", "flexattention": "FlexAttention", "constantpad": "Pad",
            "lessequal": "LessOrEqual", "greaterequal": "GreaterOrEqual"}


def _longest_prefix(stem: str, ops) -> str:
    best = ""
    for op in set(ops):
        key = op.replace("_", "").lower()
        if stem.startswith(key) and len(key) > len(best.replace("_", "")):
            best = op
    return best


_OPERATORS: list[str] = []


def _all_operators() -> list[str]:
    if not _OPERATORS:
        from onnx import defs

        _OPERATORS.extend({s.name for s in defs.get_all_schemas() if s.domain in ("", "ai.onnx")})
    return _OPERATORS
