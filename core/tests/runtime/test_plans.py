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
