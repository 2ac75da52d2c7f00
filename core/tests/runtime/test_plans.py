"""The runtime-side plan store and interpreter loop, in process (they are plain Python)."""

import numpy as np
import pytest

from onnxhub.errors import UnsupportedOperator
from onnxhub.optable import OpTable
from onnxhub.runtime_side.plans import Handles, PlanStore

TABLE = OpTable("the test table")
TABLE.add("Mul", lambda inputs, attrs: [inputs[0] * inputs[1]])
TABLE.add("Split2", lambda inputs, attrs: [inputs[0][:1], inputs[0][1:]])
TABLE.add("Clip", lambda inputs, attrs: [np.clip(inputs[0], attrs["min"], attrs["max"])], until=10)
TABLE.add("Clip", lambda inputs, attrs: [np.clip(inputs[0], inputs[1], inputs[2])], since=11)


def times(k):
    plan = {"nodes": [{"op": "Mul", "domain": "", "inputs": ["x", "k"], "outputs": ["y"], "attrs": {}}],
            "opset": 17, "inputs": ["x"], "outputs": ["y"]}
    return plan, {"init:k": np.float32(k)}


def test_ids_are_never_reused():
    store = PlanStore(TABLE)
    a, b = store.load(*times(2)), store.load(*times(3))
    store.drop(a)
    c = store.load(*times(5))
    assert (a, b, c) == (1, 2, 3) and len(store) == 2
    x = np.ones(2, np.float32)
    assert store.run(b, {"x": x})["out0"].tolist() == [3, 3]
    assert store.run(c, {"x": x})["out0"].tolist() == [5, 5]
    with pytest.raises(LookupError, match="no plan 1"):
        store.run(a, {"x": x})


def test_load_names_every_missing_op():
    plan = {"nodes": [{"op": op, "domain": d, "inputs": [], "outputs": [], "attrs": {}}
                      for op, d in [("Neg", ""), ("Mul", "ai.onnx"), ("Exp", "ai.onnx"), ("Foo", "com.x")]],
            "opset": 13, "inputs": [], "outputs": []}
    with pytest.raises(UnsupportedOperator, match=r"Exp, Neg, com.x::Foo at opset 13 in the test table"):
        PlanStore(TABLE).load(plan, {})


def test_opset_picks_the_registration_and_arrays_convert_both_ways():
    node = {"op": "Clip", "inputs": ["x", "lo", "hi"], "outputs": ["y"], "attrs": {"min": 0.0, "max": 1.0}}
    seen = []
    store = PlanStore(TABLE, to_array=lambda a: seen.append(a.dtype) or a * 1, from_array=lambda a: a.tolist())
    x = np.array([-1.0, 0.5, 3.0])
    old = store.load({"nodes": [dict(node, inputs=["x"])], "opset": 10, "inputs": ["x"], "outputs": ["y"]}, {})
    assert store.run(old, {"x": x}) == {"out0": [0.0, 0.5, 1.0]}
    new = store.load({"nodes": [node], "opset": 11, "inputs": ["x"], "outputs": ["y"]},
                     {"init:lo": np.array(-2.0), "init:hi": np.array(2.0)})
    assert store.run(new, {"x": x}) == {"out0": [-1.0, 0.5, 2.0]} and len(seen) == 4


def test_multi_output_nodes_and_omitted_outputs():
    plan = {"nodes": [{"op": "Split2", "inputs": ["x"], "outputs": ["", "b"], "attrs": {}}],
            "opset": 17, "inputs": ["x"], "outputs": ["b"]}
    store = PlanStore(TABLE)
    assert store.run(store.load(plan, {}), {"x": np.arange(3)})["out0"].tolist() == [1, 2]


def test_handles_count_up():
    h = Handles("executor")
    assert [h.add(x) for x in "abc"] == [1, 2, 3]
    h.drop(2)
    h.drop(2)  # twice is harmless
    assert h.add("d") == 4 and h.get(4) == "d"


# -- control flow and host-side values (issue 17) ----------------------------------------------
TABLE.add("Add", lambda inputs, attrs: [inputs[0] + inputs[1]])
TABLE.add("Identity", lambda inputs, attrs: [inputs[0]])
TABLE.add("Less", lambda inputs, attrs: [np.less(inputs[0], inputs[1])])


def node(op, inputs, outputs, **attrs):
    return {"op": op, "domain": "", "name": "", "inputs": inputs, "outputs": outputs, "attrs": attrs}


def graph(nodes, inputs, outputs, initializers=None):
    return {"$graph": {"nodes": nodes, "inputs": inputs, "outputs": outputs, "initializers": initializers or {}}}


def test_if_runs_the_chosen_branch_with_outer_names_and_its_own_initializers():
    then = graph([node("Mul", ["x", "two"], ["y1"])], [], ["y1"], {"two": "sub:0"})
    other = graph([node("Add", ["x", "k"], ["y2"])], [], ["y2"])
    plan = {"nodes": [node("If", ["c"], ["y"], then_branch=then, else_branch=other)], "opset": 17,
            "inputs": ["c", "x"], "outputs": ["y"]}
    store = PlanStore(TABLE)
    ident = store.load(plan, {"sub:0": np.float32(2), "init:k": np.float32(10)})
    x = np.array([1.0, 2.0], np.float32)
    assert store.run(ident, {"c": np.array(True), "x": x})["out0"].tolist() == [2, 4]
    assert store.run(ident, {"c": np.array([False]), "x": x})["out0"].tolist() == [11, 12]


def test_loop_carries_state_stacks_scan_outputs_and_stops_on_its_condition():
    body = graph([node("Add", ["s", "one"], ["s2"]), node("Less", ["s2", "limit"], ["go"]),
                  node("Identity", ["s2"], ["trace"])], ["i", "cond", "s"], ["go", "s2", "trace"])
    plan = {"nodes": [node("Loop", ["m", "", "s0"], ["s", "all"], body=body)], "opset": 17,
            "inputs": ["s0"], "outputs": ["s", "all"]}
    store = PlanStore(TABLE)
    arrays = {"init:m": np.array(10, np.int64), "init:one": np.float32(1), "init:limit": np.float32(3)}
    out = store.run(store.load(plan, arrays), {"s0": np.float32(0)})
    assert out["out0"] == 3 and out["out1"].tolist() == [1, 2, 3]


def test_scan_slices_inputs_and_runs_backwards():
    body = graph([node("Add", ["acc", "xt"], ["acc2"]), node("Identity", ["acc2"], ["yt"])], ["acc", "xt"],
                 ["acc2", "yt"])
    plan = {"nodes": [node("Scan", ["a0", "x"], ["a", "ys"], body=body, num_scan_inputs=1,
                           scan_input_directions=[1])], "opset": 17, "inputs": ["a0", "x"], "outputs": ["a", "ys"]}
    store = PlanStore(TABLE)
    out = store.run(store.load(plan, {}), {"a0": np.zeros(2), "x": np.arange(6.0).reshape(3, 2)})
    assert out["out0"].tolist() == [6, 9] and out["out1"].tolist() == [[4, 5], [6, 8], [6, 9]]


def test_sequences_travel_as_numbered_arrays_and_optionals_as_none():
    plan = {"nodes": [node("SequenceInsert", ["seq", "x"], ["seq2"]), node("SequenceLength", ["seq2"], ["n"]),
                      node("ConcatFromSequence", ["seq2"], ["cat"], axis=0),
                      node("OptionalHasElement", ["maybe"], ["has"]), node("Optional", [], ["none"])],
            "opset": 17, "inputs": ["seq", "x", "maybe"], "outputs": ["seq2", "n", "cat", "has", "none"]}
    store = PlanStore(TABLE)
    feeds = {"seq#0": np.array([1.0]), "seq#1": np.array([2.0]), "x": np.array([3.0])}
    out = store.run(store.load(plan, {}), feeds, sequences={"seq": 2}, nones=["maybe"])
    assert out["sequences"] == {"out0": 3} and [out[f"out0#{i}"].tolist() for i in range(3)] == [[1], [2], [3]]
    assert out["out1"] == 3 and out["out2"].tolist() == [1, 2, 3] and not out["out3"] and out["nones"] == ["out4"]


def test_ops_inside_subgraphs_are_checked_at_load():
    body = graph([node("Nope", ["x"], ["y"])], [], ["y"])
    plan = {"nodes": [node("If", ["c"], ["y"], then_branch=body, else_branch=body)], "opset": 17,
            "inputs": ["c", "x"], "outputs": ["y"]}
    with pytest.raises(UnsupportedOperator, match="Nope"):
        PlanStore(TABLE).load(plan, {})


def test_construction_errors_become_one_line_unsupported_operator_naming_the_node():
    """Off by default (a framework's ValueError propagates); a store that lists it reports the node instead."""
    table = OpTable("the test table")

    def refuse(inputs, attrs):
        raise ValueError("Reshape: Operand dimensions '[7 x 2]' incompatible with '[]'.\nmore detail")

    table.add("Reshape", refuse)
    plan = {"nodes": [{"op": "Reshape", "name": "vec/Reshape", "inputs": ["x"], "outputs": ["y"], "attrs": {}}],
            "opset": 17, "inputs": ["x"], "outputs": ["y"]}
    store = PlanStore(table)
    ident = store.load(plan, {})
    with pytest.raises(ValueError):
        store.run(ident, {"x": np.ones(2)})
    store.construction_errors = (ValueError,)
    store.construction_note = "a limit of the framework"
    with pytest.raises(UnsupportedOperator) as err:
        store.run(ident, {"x": np.ones(2)})
    message = str(err.value)
    assert len(message.splitlines()) == 1 and "'vec/Reshape'" in message, message
    assert "a limit of the framework: Reshape: Operand dimensions '[7 x 2]' incompatible with '[]')" in message
