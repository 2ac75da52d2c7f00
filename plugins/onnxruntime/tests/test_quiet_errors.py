"""Issue #16: ONNX Runtime's own log lines must not reach stderr when a run fails; the error is one line."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnxhub.testing import run_cli


def _reshape_that_fails(path):
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 7])],
                              [numpy_helper.from_array(np.array([5, 7], np.int64), "s")])
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


def test_run_failure_is_one_line_without_onnxruntime_logs(tmp_path):
    r = run_cli("run", _reshape_that_fails(tmp_path / "m.onnx"), "--random-inputs", "--backend", "onnxruntime")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    assert "cannot be reshaped" in lines[0]


def test_log_severity_level_option_still_turns_logs_on(tmp_path):
    r = run_cli("run", _reshape_that_fails(tmp_path / "m.onnx"), "--random-inputs", "--backend", "onnxruntime",
                "--option", "log_severity_level=3")
    assert r.returncode == 2
    assert "[E:onnxruntime" in r.stderr
