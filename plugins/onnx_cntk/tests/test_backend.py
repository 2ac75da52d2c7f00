"""Backend `cntk`: ONNX models run by real CNTK 2.7 kernels in the runtime, checked against ONNX Runtime."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_importer import SMALL, run_onnx

import onnxhub
from onnxhub.errors import UnsupportedModel, UnsupportedOperator
from onnxhub.testing import assert_close


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def _vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("opset", (13, 17))
@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_graphs_match_onnxruntime_on_both_paths(cntk, name, opset):
    """The composed graph (first run checks it against the interpreter) and later runs match ONNX Runtime."""
    model = SMALL[name](opset)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    rep = onnxhub.get_backend("cntk").prepare(model)
    for seed in (0, 1):
        x = np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
        (got,) = rep.run([x])
        (want,) = run_onnx(model, {"x": x})
        assert_close(got, want, rtol=1e-3, atol=1e-4, what=f"{name} run {seed}")
    assert rep.fast, "a static float graph takes the composed-graph path"


@pytest.mark.runtime("cntk")
def test_integer_semantics_are_exact_in_float64(cntk):
    """CNTK holds floats only: int64 is computed in float64, with ONNX's integer division and casts."""
    nodes = [helper.make_node("Div", ["a", "b"], ["q"]), helper.make_node("Mod", ["a", "b"], ["m"]),
             helper.make_node("Cast", ["f"], ["c"], to=TensorProto.INT32),
             helper.make_node("Gather", ["a", "i"], ["g"], axis=0),
             helper.make_node("Greater", ["a", "b"], ["gt"])]
    model = _model(nodes, [_vi("a", TensorProto.INT64, [5]), _vi("b", TensorProto.INT64, [5]),
                           _vi("f", TensorProto.FLOAT, [5]), _vi("i", TensorProto.INT64, [3])],
                   [_vi("q", TensorProto.INT64, [5]), _vi("m", TensorProto.INT64, [5]), _vi("c", TensorProto.INT32, [5]),
                    _vi("g", TensorProto.INT64, [3]), _vi("gt", TensorProto.BOOL, [5])])
    feeds = {"a": np.array([7, -7, 9, 2**40 + 3, -1], np.int64), "b": np.array([2, 2, -4, 5, 3], np.int64),
             "f": np.array([1.7, -1.7, 2.5, -0.2, 300.9], np.float32), "i": np.array([-1, 0, 3], np.int64)}
    got = onnxhub.get_backend("cntk").prepare(model).run([feeds[k] for k in "abfi"])
    for g, w, name in zip(got, run_onnx(model, feeds), ["Div", "Mod", "Cast", "Gather", "Greater"]):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.mark.runtime("cntk")
def test_string_tensors_are_refused_as_a_cntk_limit(cntk):
    model = _model([helper.make_node("Identity", ["x"], ["y"])], [_vi("x", TensorProto.STRING, [2])],
                   [_vi("y", TensorProto.STRING, [2])])
    with pytest.raises(UnsupportedModel, match="CNTK 2.7 cannot hold"):
        onnxhub.get_backend("cntk").prepare(model)


@pytest.mark.runtime("cntk")
def test_missing_converter_is_unsupported_operator_naming_every_op(cntk):
    nodes = [helper.make_node("DFT", ["x"], ["d"]), helper.make_node("Relu", ["d"], ["r"]),
             helper.make_node("Det", ["r"], ["y"])]
    model = _model(nodes, [_vi("x", TensorProto.FLOAT, [2, 4, 1])], [_vi("y", TensorProto.FLOAT, [2])])
    with pytest.raises(UnsupportedOperator, match="Det, DFT|DFT, Det") as err:
        onnxhub.get_backend("cntk").prepare(model)
    assert "CNTK backend" in str(err.value)


@pytest.mark.runtime("cntk")
def test_a_cntk_limit_inside_an_op_says_why(cntk):
    """MaxPool's indices output has no CNTK kernel: refused naming the op and the reason."""
    model = _model([helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2])],
                   [_vi("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                   [_vi("y", TensorProto.FLOAT, [1, 1, 3, 3]), _vi("i", TensorProto.INT64, [1, 1, 3, 3])])
    rep = onnxhub.get_backend("cntk").prepare(model)
    with pytest.raises(UnsupportedOperator, match="MaxPool.*no indices"):
        rep.run([np.zeros((1, 1, 4, 4), np.float32)])


@pytest.mark.runtime("cntk")
def test_float64_and_initializers_round_trip(cntk):
    w = np.random.default_rng(3).standard_normal((4, 3))
    model = _model([helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Tanh", ["m"], ["y"])],
                   [_vi("x", TensorProto.DOUBLE, [2, 4])], [_vi("y", TensorProto.DOUBLE, [2, 3])],
                   [numpy_helper.from_array(w, "w")])
    x = np.random.default_rng(4).standard_normal((2, 4))
    (got,) = onnxhub.get_backend("cntk").prepare(model).run([x])
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.tanh(x @ w), rtol=1e-12)


@pytest.mark.runtime("cntk")
def test_a_tile_larger_than_memory_is_refused_at_once(cntk, tmp_path):
    # Tile to 10^12 elements: CNTK spliced copies for minutes where other backends refuse (#27 item 4)
    from onnxhub.testing import run_cli

    model = _model([helper.make_node("Tile", ["x", "r"], ["y"])], [_vi("x", TensorProto.FLOAT, [1, 1000])],
                   [_vi("y", TensorProto.FLOAT, [1, 10**12])], [numpy_helper.from_array(np.array([1, 10**9]), "r")])
    path = tmp_path / "tile.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_cli("run", path, "--backend", "cntk", "--random-inputs", "-o", tmp_path / "out.npz", timeout=300)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "Tile of 1000000000000 elements needs" in r.stderr and not (tmp_path / "out.npz").exists()
