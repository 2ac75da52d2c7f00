"""RuntimeBackend on the test runtime (CPython 3.6 + numpy): plan lifetime, releases, fast path, errors.

The test runtime's handler (``core/tests/runtime/handler_testrt.py``) keeps plans in
onnxhub's runtime-side ``PlanStore`` over a small numpy ``OpTable``.
"""

import gc
import os
import re
import signal

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxhub.backend.runtime import RuntimeBackend, RuntimeRep
from onnxhub.errors import UnsupportedModel, UnsupportedOperator, UsageError
from onnxhub.runtime.bridge import RemoteError, get_worker

X = np.arange(8, dtype=np.float32).reshape(2, 4)


def scaled(k: float, op: str = "Mul", opset: int = 17):
    """y = x * k (or another binary op with constant k): each k gives a model with its own result."""
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "k"], ["y"])], f"times_{k}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(np.float32(k), "k")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def small(nodes, opset=17, elem=TensorProto.FLOAT, out_shape=(2,), inits=()):
    """A model of ``nodes`` from x: elem[2] to y."""
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, [2])],
                              [helper.make_tensor_value_info("y", elem, list(out_shape))], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


class TestrtBackend(RuntimeBackend):
    name, runtime, label = "testrt-plans", "testrt", "the test runtime"
    dtypes = frozenset({"float32", "int64"})


class FastRep(RuntimeRep):
    error = 0.0  # how far off the stand-in executor is

    def fast_path(self, signature):
        return self.call("load_executor", {"plan": self.plan_id, "error": self.error})[0]["id"]


class WrongFastRep(FastRep):
    error = 1.0


@pytest.fixture
def backend(testrt):
    worker = get_worker(testrt)
    worker.stop()  # a fresh process: counts start at zero
    yield TestrtBackend
    gc.collect()


def kill(worker):
    """SIGKILL the worker process (as the OOM killer would) and wait until it is gone."""
    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()


def counts():
    return get_worker("testrt").call("counts")[0]


def run(rep):
    (y,) = rep.run([X])
    return y


def test_each_rep_runs_its_own_plan_after_releases(backend):
    a, b = backend.prepare(scaled(2)), backend.prepare(scaled(3))
    del a
    gc.collect()
    c = backend.prepare(scaled(5))  # the release of a is sent first; c gets a fresh id
    assert c.plan_id == 3 and counts()["plans"] == 2
    np.testing.assert_array_equal(run(b), X * 3)
    np.testing.assert_array_equal(run(c), X * 5)


def test_release_waits_for_the_next_call(backend):
    a = backend.prepare(scaled(2))
    worker = a.worker
    del a
    gc.collect()
    assert len(worker._released) == 1  # __del__ only queued it
    assert counts()["plans"] == 0 and not worker._released


def test_restart_reloads_the_plan_and_drops_stale_releases(backend):
    a, b = backend.prepare(scaled(2)), backend.prepare(scaled(3))
    worker = a.worker
    old = worker.generation
    kill(worker)
    d = backend.prepare(scaled(7))  # a new process: its first plan has id 1, as a's had
    assert worker.generation == old + 1 and d.plan_id == a.plan_id == 1
    del a  # a release for the dead process, naming id 1: must not reach d's plan
    gc.collect()
    np.testing.assert_array_equal(run(d), X * 7)
    np.testing.assert_array_equal(run(b), X * 3)  # b loads its plan into the new process
    assert b.generation == worker.generation and b.plan_id == 2
    np.testing.assert_array_equal(run(d), X * 7)
    assert counts()["plans"] == 2


def test_a_rep_never_reaches_a_later_process(backend):
    a = backend.prepare(scaled(2))
    a.worker.stop()
    b = backend.prepare(scaled(3))  # same id as a's in the new process
    assert (a.plan_id, a.generation) != (b.plan_id, b.generation) and a.plan_id == b.plan_id
    np.testing.assert_array_equal(run(a), X * 2)
    np.testing.assert_array_equal(run(b), X * 3)


def test_missing_ops_are_the_local_class_with_fields(backend):
    model = small([helper.make_node("Neg", ["x"], ["n"]), helper.make_node("Exp", ["n"], ["y"])])
    with pytest.raises(UnsupportedOperator) as info:
        backend.prepare(model)
    err = info.value
    assert type(err) is UnsupportedOperator
    assert (err.op_type, err.opset, err.domain) == ("Exp, Neg", 17, "")
    assert "unsupported operator Exp, Neg at opset 17 in the test runtime" in str(err)
    assert "Traceback" in err.remote_traceback


def test_op_outside_its_opset_range_is_missing(backend):
    with pytest.raises(UnsupportedOperator, match="Relu at opset 5"):
        backend.prepare(small([helper.make_node("Relu", ["x"], ["y"])], opset=5))


def test_not_implemented_at_run_is_unsupported_operator_naming_the_node(backend):
    rep = backend.prepare(small([helper.make_node("Pad", ["x", "p"], ["y"], name="pad0", mode="wrap")], out_shape=[4],
                                inits=[numpy_helper.from_array(np.array([1, 1], np.int64), "p")]))
    with pytest.raises(UnsupportedOperator, match=r"Pad \(Pad mode wrap\) at opset 17 \(node 'pad0'\)") as info:
        rep.run([np.ones(2, np.float32)])
    assert info.value.node == "pad0"


def test_other_remote_errors_stay_remote_errors(backend):
    rep = backend.prepare(scaled(2))
    with pytest.raises(RemoteError, match="no plan 99"):
        rep.worker.call("run_plan", {"id": 99}, {"x": X})


def test_plan_checks_happen_before_the_worker(backend):
    with pytest.raises(UnsupportedModel, match="has type float64, which the test runtime cannot hold"):
        backend.prepare(small([helper.make_node("Relu", ["x"], ["y"])], elem=TensorProto.DOUBLE))
    with pytest.raises(UnsupportedModel, match="operator domain 'com.example'"):
        model = scaled(2)
        model.opset_import.append(helper.make_opsetid("com.example", 1))
        model.graph.node[0].domain = "com.example"  # a domain only declared is no reason to refuse
        backend.prepare(model)
    with pytest.raises(UsageError, match=r"offers devices \['cpu'\], not 'cuda'"):
        backend.prepare(scaled(2), "CUDA")
    with pytest.raises(UsageError, match="takes no options"):
        backend.prepare(scaled(2), threads=2)


def test_fast_path_is_used_once_it_agrees(backend, monkeypatch):
    monkeypatch.setattr(TestrtBackend, "rep_class", FastRep)
    rep = backend.prepare(scaled(2))
    np.testing.assert_array_equal(run(rep), X * 2)
    assert rep.fast and len(rep.executors) == 1 and counts()["executors"] == 1
    np.testing.assert_array_equal(run(rep), X * 2)
    del rep
    gc.collect()
    assert counts() == {"plans": 0, "executors": 0}


def test_fast_path_that_disagrees_is_dropped_for_the_interpreter(backend, monkeypatch):
    monkeypatch.setattr(TestrtBackend, "rep_class", WrongFastRep)
    rep = backend.prepare(scaled(2))
    np.testing.assert_array_equal(run(rep), X * 2)  # the interpreter's answer, not the executor's
    assert not rep.fast and not rep.executors
    np.testing.assert_array_equal(run(rep), X * 2)
    assert counts()["executors"] == 0  # its release was sent with the call before


def test_fast_path_survives_a_restart(backend, monkeypatch):
    monkeypatch.setattr(TestrtBackend, "rep_class", FastRep)
    rep = backend.prepare(scaled(2))
    run(rep)
    kill(rep.worker)
    other = backend.prepare(scaled(3))
    run(other)  # the new process's executor 1 is other's; rep's old executor 1 must not be used
    np.testing.assert_array_equal(run(rep), X * 2)
    np.testing.assert_array_equal(run(other), X * 3)


# -- subgraphs and widened dtypes (issue 17) ------------------------------------------------------
def test_if_subgraphs_travel_as_nested_plans_and_see_outer_names(backend, monkeypatch):
    monkeypatch.setattr(backend, "dtypes", backend.dtypes | {"bool"})
    then = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])],
                             [numpy_helper.from_array(np.float32(3), "k")])
    other = helper.make_graph([helper.make_node("Add", ["x", "x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    graph = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)], "g",
                              [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                               helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    plan, arrays = backend.make_plan(model)
    sub = plan["nodes"][0]["attrs"]["then_branch"]["$graph"]
    assert sub["outputs"] == ["t"] and arrays[sub["initializers"]["k"]] == 3
    rep = backend.prepare(model)
    x = np.array([1, 2], np.float32)
    assert rep.run([np.array(True), x])[0].tolist() == [3, 6]
    assert rep.run([np.array(False), x])[0].tolist() == [2, 4]


def test_a_dtype_the_runtime_lacks_is_widened_and_cast_back(backend, monkeypatch):
    monkeypatch.setattr(backend, "widen", {"int32": "int64"})
    model = small([helper.make_node("Add", ["x", "x"], ["y"])], elem=TensorProto.INT32)
    plan, _ = backend.make_plan(model)
    assert plan["widened"] and plan["output_dtypes"] == ["int32"]
    (y,) = backend.prepare(model).run([np.array([2**31 - 1, 5], np.int32)])
    assert y.dtype == np.int32 and y.tolist() == [-2, 10]  # computed in int64, wrapped back as int32 does
    monkeypatch.setattr(backend, "widen", {})
    with pytest.raises(UnsupportedModel, match="int32, which the test runtime cannot hold"):
        backend.prepare(model)


def test_graphs_onnx_type_inference_rejects_are_refused_before_the_runtime(backend):
    # A framework runs these, converting silently (#27 item 7): Add(float, int32), and a float Relu declared int8
    from onnxhub.errors import InvalidModel

    mixed = helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["x", "i"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]), helper.make_tensor_value_info("i", TensorProto.INT32, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]), opset_imports=[helper.make_opsetid("", 17)])
    relu = small([helper.make_node("Relu", ["x"], ["y"])])
    relu.graph.output[0].type.tensor_type.elem_type = TensorProto.INT8
    for model, fragment in ((mixed, "inconsistent type tensor(int32)"), (relu, "Inferred elem type differs")):
        with pytest.raises(InvalidModel, match=rf"model fails ONNX type and shape inference: .*{re.escape(fragment)}"):
            backend.prepare(model)
    assert counts()["plans"] == 0
    np.testing.assert_array_equal(run(backend.prepare(scaled(2))), X * 2)  # a well-typed model still runs
