"""Importer `cntk`: ONNX -> .model files that plain CNTK 2.7 loads and runs with a dynamic batch axis.

The imported files are evaluated in the CNTK runtime by ``cntk_side.plain_eval`` (``cntk.load_model``
and ``eval``, no onnxhub code) and compared with ONNX Runtime, sample by sample.
"""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxhub.testing import assert_close, run_cli

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
OPSETS = (13, 17)


def run_onnx(model, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _import(model, tmp_path, name="m"):
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    out = tmp_path / f"{name}_cntk"
    r = run_cli("import", path, "--to", "cntk", "-o", out)
    assert r.returncode == 0, r.stderr
    return out / "model.model"


def _check_batches(cntk, model, imported, batch=3, seed=0):
    """The imported file at batch ``batch`` (one CNTK call) against ONNX Runtime run per sample at batch 1."""
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    feeds = {}
    for inp in inputs:
        shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
        feeds[inp.name] = rng.uniform(-1, 1, [batch] + shape[1:]).astype(np.float32)
    result, got = cntk.call("plain_eval", {"path": str(imported)}, feeds, timeout=600)
    for arg in result["arguments"]:
        assert arg["dynamic_axes"] == ["defaultBatchAxis"], arg  # the batch is CNTK's dynamic axis
    want = [run_onnx(model, {k: v[i:i + 1] for k, v in feeds.items()}) for i in range(batch)]
    for j in range(len(model.graph.output)):
        expected = np.concatenate([w[j] for w in want])
        assert np.ptp(expected) > 0, "a constant output proves nothing"
        assert_close(got[f"y{j}"], expected, rtol=1e-3, atol=1e-4, what=f"output {j}", dtype=False)


# -- the ONNX package's light models ------------------------------------------------------------
@pytest.mark.runtime("cntk")
@pytest.mark.ground_truth
@pytest.mark.parametrize("name", ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
                                  "shufflenet", "squeezenet", "vgg19", "zfnet512"])
def test_light_models_import_into_plain_cntk(cntk, tmp_path, name):
    model = _randomized(onnx.load(str(LIGHT / f"light_{name}.onnx")))
    imported = _import(model, tmp_path, name)
    _check_batches(cntk, model, imported, batch=2)


def _randomized(model):
    """The light models fill their weights with ConstantOfShape (every output equal): seeded random
    initializers instead, scaled by fan-in (positive for BatchNormalization variances)."""
    rng = np.random.default_rng(7)
    shapes = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    variances = {n.input[4] for n in model.graph.node if n.op_type == "BatchNormalization"}
    keep = []
    for node in model.graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            keep.append(node)
            continue
        shape = tuple(int(d) for d in shapes[node.input[0]])
        if node.output[0] in variances:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.standard_normal(shape) * (np.prod(shape[1:]) ** -0.5 if len(shape) > 1 else 0.1)
        model.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        if model.ir_version < 4:  # IR 3 lists every initializer among the graph inputs
            model.graph.input.append(helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, shape))
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


# -- small graphs at opsets 13 and 17 (where CNTK's own ONNX loader fails or is wrong) -------------
def _w(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _graph(nodes, inits, x_shape, y_shape, opset, name):
    rng = np.random.default_rng(1)
    tensors = [numpy_helper.from_array(v if isinstance(v, np.ndarray) else v(rng), k) for k, v in inits.items()]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], tensors)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    return model


SMALL = {
    "conv": lambda op: _graph([helper.make_node("Conv", ["x", "W", "B"], ["y"], pads=[1, 0, 1, 2], strides=[2, 1])],
                              {"W": lambda r: _w(r, 4, 3, 3, 3), "B": lambda r: _w(r, 4)},
                              [1, 3, 7, 6], [1, 4, 4, 6], op, "conv"),
    "conv_bn": lambda op: _graph(
        [helper.make_node("Conv", ["x", "W"], ["c"], group=3), helper.make_node(
            "BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
        {"W": lambda r: _w(r, 6, 1, 3, 3), "s": lambda r: _w(r, 6), "b": lambda r: _w(r, 6),
         "m": lambda r: _w(r, 6), "v": lambda r: np.abs(_w(r, 6)) + 0.5}, [1, 3, 6, 6], [1, 6, 4, 4], op, "conv_bn"),
    "gemm_bias": lambda op: _graph([helper.make_node("Gemm", ["x", "W", "C"], ["y"], transB=1, alpha=0.5, beta=2.0)],
                                   {"W": lambda r: _w(r, 5, 7), "C": lambda r: _w(r, 5)}, [1, 7], [1, 5], op, "gemm"),
    "gemm_no_c": lambda op: _graph([helper.make_node("Gemm", ["x", "W"], ["y"])], {"W": lambda r: _w(r, 7, 5)},
                                   [1, 7], [1, 5], op, "gemm_no_c"),
    "avgpool_ceil": lambda op: _graph([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                                        strides=[2, 2], ceil_mode=1)], {}, [1, 2, 6, 6],
                                      [1, 2, 3, 3], op, "avgpool"),
    "maxpool_pads": lambda op: _graph([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                                        pads=[1, 1, 1, 1])], {}, [1, 2, 6, 6], [1, 2, 3, 3], op,
                                      "maxpool"),
    "concat": lambda op: _graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Concat", ["x", "r"], ["y"],
                                                                                         axis=1)],
                                {}, [1, 2, 3, 3], [1, 4, 3, 3], op, "concat"),
    "reshape": lambda op: _graph([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                                 {"shape": np.array([1, 3, -1], np.int64)}, [1, 3, 2, 4], [1, 3, 8], op, "reshape"),
    "constant_of_shape": lambda op: _graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [1],
                                                                                         [0.25])),
         helper.make_node("Add", ["x", "c"], ["y"])], {"shape": np.array([1, 3, 4], np.int64)}, [1, 3, 4],
        [1, 3, 4], op, "cos"),
    "softmax_axis1": lambda op: _graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], {}, [1, 3, 2, 2],
                                       [1, 3, 2, 2], op, "softmax1"),
    "softmax_last": lambda op: _graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], {}, [1, 3, 2, 4],
                                      [1, 3, 2, 4], op, "softmax_last"),
}


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_graphs_import_into_plain_cntk(cntk, tmp_path, name, opset):
    model = SMALL[name](opset)
    _check_batches(cntk, model, _import(model, tmp_path, name))


# -- refusals: one line, exit 2, nothing written -----------------------------------------------------
def _tiny(tmp_path, node, x_shape, y_shape, opset=17, inits=()):
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], list(inits))
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


@pytest.mark.runtime("cntk")
def test_unsupported_operator_is_one_line_and_leaves_nothing(cntk, tmp_path):
    path = _tiny(tmp_path, helper.make_node("DFT", ["x"], ["y"], name="fourier"), [1, 4, 1], [1, 4, 2])
    r = run_cli("import", path, "--to", "cntk", "-o", tmp_path / "out")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "DFT" in line and "CNTK" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.runtime("cntk")
def test_op_along_the_batch_axis_is_refused_naming_it(cntk, tmp_path):
    """Concat along axis 0 mixes samples: no form with CNTK's batch axis, so a clear refusal."""
    path = _tiny(tmp_path, helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0]), [2, 3], [3, 2])
    r = run_cli("import", path, "--to", "cntk", "-o", tmp_path / "out")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "Transpose" in line and "batch axis" in line, line
    assert not (tmp_path / "out").exists()


def test_unknown_option_and_bad_file_are_one_line(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    r = run_cli("import", path, "--to", "cntk", "-o", tmp_path / "out")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.runtime("cntk")
def test_reshape_folding_the_batch_axis_is_refused_naming_the_node(cntk, tmp_path):
    """Reshape (N, 7, 2) -> (-1,) folds the batch into the data (Caffe2's FlattenToVec): exit 2, one line,
    naming the node (it was a raw ValueError from inside CNTK)."""
    nodes = [helper.make_node("Reshape", ["x", "flat"], ["v"], name="vec/Reshape"),
             helper.make_node("Reshape", ["v", "rows"], ["y"], name="unvec/Reshape")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 7, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 14])],
                          [numpy_helper.from_array(np.array([-1], np.int64), "flat"),
                           numpy_helper.from_array(np.array([-1, 14], np.int64), "rows")])
    path = tmp_path / "fold.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    r = run_cli("import", path, "--to", "cntk", "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert "vec/Reshape" in line and "batch axis" in line and "CNTK importer" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.runtime("cntk")
def test_a_function_cntk_refuses_to_build_is_a_one_line_refusal_naming_the_node(cntk, tmp_path):
    """CNTK checks shapes as it builds each function and raises ValueError inside its runtime: that
    becomes exit 2, one line, naming the node and saying the importer cannot express it."""
    path = _tiny(tmp_path, helper.make_node("Add", ["x", "c"], ["y"], name="bias/Add"), [1, 3], [1, 3],
                 inits=[numpy_helper.from_array(np.ones(4, np.float32), "c")])  # (N, 3) + (4,): CNTK says no
    r = run_cli("import", path, "--to", "cntk", "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert "bias/Add" in line and "CNTK limit" in line and "CNTK importer" in line and "cannot express" in line, line
    assert "Traceback" not in r.stderr and "RemoteError" not in line and "ValueError" not in line
    assert not (tmp_path / "out").exists()


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("indices", [[3, 0, 4, 1, 5, 2], [[1, -1], [0, 2]], 4], ids=["shuffle", "2d_negative", "scalar"])
def test_gather_on_a_batched_tensor_runs_in_plain_cntk(cntk, tmp_path, indices):
    """Caffe2's ChannelShuffle (ShuffleNet) exports as Gather along the channels. CNTK's own gather
    saves fine but fails when the model runs on a batch ("right operand doesn't expect to have
    dynamic axis"), so the importer writes constant-index slices instead."""
    ind = np.array(indices, np.int64)
    out_shape = [1] + list(ind.shape) + [2, 3]
    g = helper.make_graph([helper.make_node("Gather", ["x", "ind"], ["y"], axis=1)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          [numpy_helper.from_array(ind, "ind")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    _check_batches(cntk, model, _import(model, tmp_path, "gather"))
