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
    """The operator a node case is about: the op whose name starts the test name."""
    stem = case_name.removeprefix("test_").replace("_", "").lower()
    best = ""
    for op in set(op_types):
        key = op.replace("_", "").lower()
        if stem.startswith(key) and len(key) > len(best):
            best = op
    return best or (op_types[0] if op_types else "?")
