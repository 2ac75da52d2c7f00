"""Issue #16: importing a model whose inputs or outputs MXNet cannot represent is refused (exit 2),
never written with the dtype silently dropped."""

import pytest
from onnx import TensorProto, helper

from onnxhub.testing import run_cli


def _identity(path, elem):
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", elem, [2])],
                              [helper.make_tensor_value_info("y", elem, [2])])
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


@pytest.mark.parametrize("elem, name", [(TensorProto.STRING, "string"), (TensorProto.BFLOAT16, "bfloat16"),
                                        (TensorProto.FLOAT8E4M3FN, "float8e4m3fn"),
                                        (TensorProto.COMPLEX64, "complex64")])
def test_unrepresentable_input_dtype_is_refused(tmp_path, elem, name):
    out = tmp_path / "out"
    r = run_cli("import", _identity(tmp_path / "m.onnx", elem), "--to", "mxnet", "-o", out)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and f"graph input 'x' has dtype {name}" in lines[0], r.stderr
    assert not out.exists()


def test_a_dtype_mxnet_has_still_imports(tmp_path):
    r = run_cli("import", _identity(tmp_path / "m.onnx", TensorProto.INT32), "--to", "mxnet", "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr


def test_a_graph_whose_types_contradict_is_refused(tmp_path):
    # Add(float, int32) was imported, MXNet then casting silently (#27 item 7)
    graph = helper.make_graph([helper.make_node("Add", ["x", "i"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
                               helper.make_tensor_value_info("i", TensorProto.INT32, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    out = tmp_path / "out"
    r = run_cli("import", path, "--to", "mxnet", "-o", out)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "fails ONNX type and shape inference" in r.stderr and "inconsistent type tensor(int32)" in r.stderr
    assert not out.exists()
