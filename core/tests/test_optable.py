import sys
from pathlib import Path

import pytest

from onnxhub.errors import UnsupportedOperator
from onnxhub.optable import OpTable


def make_table():
    table = OpTable("the test converter")

    @table.register("ReduceMean", until=17)
    def reduce_attr(node):
        """Axes as an attribute."""
        return "attr"

    @table.register("ReduceMean", since=18)
    def reduce_input(node):
        return "input"

    @table.register("Relu", "Tanh", weights=(1,))
    def act(node):
        return "act"

    return table


def test_lookup_picks_the_registration_for_the_opset():
    table = make_table()
    assert table.get("ReduceMean", 13)(None) == "attr"
    assert table.get("ReduceMean", 17)(None) == "attr"
    assert table.get("ReduceMean", 18)(None) == "input"
    assert table.lookup("Relu", 21).meta == {"weights": (1,)}
    assert table.ops(13) == ["ReduceMean", "Relu", "Tanh"]


def test_duplicate_registration_is_an_error():
    table = make_table()
    with pytest.raises(ValueError, match="registered twice"):
        table.register("ReduceMean", since=15)(lambda node: None)
    table.register("ReduceMean", domain="com.acme")(lambda node: None)  # another domain is another op
    assert table.lookup("Relu", 13, domain="ai.onnx") is table.lookup("Relu", 13)  # one domain, two spellings
    assert table.missing([("com.acme", "Relu"), ("ai.onnx", "Relu")], 13) == ["com.acme::Relu"]


def test_missing_lists_every_gap_at_once():
    table = make_table()
    assert table.missing(["Relu", "Conv", "Gemm", "Conv"], 13) == ["Conv", "Gemm"]
    with pytest.raises(UnsupportedOperator, match=r"Conv, Gemm at opset 13 in the test converter"):
        table.check(["Relu", "Conv", "Gemm"], 13)
    with pytest.raises(UnsupportedOperator, match="Relu at opset 1 "):
        OpTable("x").get("Relu", 1)


def test_rows_for_generated_docs():
    rows = make_table().rows()
    assert [(r["op"], r["since"], r["until"]) for r in rows] == [
        ("ReduceMean", 1, 17), ("ReduceMean", 18, None), ("Relu", 1, None), ("Tanh", 1, None)]
    assert rows[0]["doc"] == "Axes as an attribute."


def test_valid_python_36_syntax_and_stdlib_only():
    """Runtime-side code imports this module inside CPython 3.6 runtimes."""
    import ast

    import onnxhub.optable as mod

    tree = ast.parse(Path(mod.__file__).read_text(), feature_version=(3, 6))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"onnxhub"} | set(sys.stdlib_module_names)


def test_families_group_by_module_and_doc():
    table = make_table()
    assert table.families() == [("test_optable", "", ["ReduceMean", "Relu", "Tanh"]),
                                ("test_optable", "Axes as an attribute.", ["ReduceMean"])]
