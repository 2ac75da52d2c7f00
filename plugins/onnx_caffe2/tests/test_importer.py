"""Importer `caffe2`: ONNX -> init_net.pb + predict_net.pb that plain Caffe2 runs (no onnxhub code in the
runtime: ``caffe2_side.run_imported``), matching ONNX Runtime; the part-1 round trip; clean refusals."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_export import FAMILIES, _files, run_onnx

from onnxhub.testing import assert_close, run_cli

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
HEAVY = ("vgg19", "bvlc_alexnet", "zfnet512")  # 240-720 MB of init_net each


def _import(path, out, *args):
    r = run_cli("import", path, "--to", "caffe2", "-o", out, *args)
    assert r.returncode == 0, r.stderr
    return out


def _run_plain(caffe2, folder, feeds):
    result, arrays = caffe2.call("run_imported", {"folder": str(folder)}, feeds, timeout=900)
    return result, [arrays[f"y{i}"] for i in range(len(result["outputs"]))]


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.ground_truth) if n in HEAVY else n
                                  for n in ["resnet50", "squeezenet", "densenet121", "inception_v1", "inception_v2",
                                            "shufflenet", "vgg19", "bvlc_alexnet", "zfnet512"]])
def test_light_models_run_in_plain_caffe2(caffe2, tmp_path, name):
    """The ONNX package's light models (opset 9, brought into the window by the version converter)."""
    path = LIGHT / f"light_{name}.onnx"
    model = onnx.load(str(path))
    inits = {t.name for t in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in inits)
    shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    result, ys = _run_plain(caffe2, _import(path, tmp_path / "c2"), {inp.name: x})
    assert result["outputs"] == [o.name for o in model.graph.output]
    assert result["value_info"] == {inp.name: [1, shape]}
    for got, want in zip(ys, run_onnx(model, {inp.name: x})):
        assert_close(got, want, rtol=1e-3, atol=1e-4, what=f"light_{name} imported into Caffe2")


def _w(rng, *shape):
    return numpy_helper.from_array(rng.normal(0, float(np.prod(shape[1:])) ** -0.5, shape).astype(np.float32))


def _graphs(opset):
    """Small graphs at ``opset``: (name, model, input shape)."""
    rng = np.random.default_rng(opset)
    f = TensorProto.FLOAT

    def model(name, nodes, shape, out_rank, inits):
        for key, t in inits.items():
            t.name = key
        out = helper.make_tensor_value_info("y", f, [f"d{i}" for i in range(out_rank)])
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", f, shape)], [out],
                                  list(inits.values()))
        return name, helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), shape

    def vec(n, lo=-0.2, hi=0.2):
        return numpy_helper.from_array(rng.uniform(lo, hi, n).astype(np.float32))

    yield model("conv_bn", [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 0, 2, 1],
                                             strides=[2, 1]),
                            helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["y"], epsilon=1e-3)],
                [2, 3, 9, 8], 4, {"w": _w(rng, 4, 3, 3, 3), "b": vec(4), "s": vec(4, 0.5, 1.5), "bb": vec(4),
                                     "m": vec(4), "v": vec(4, 0.5, 1.5)})
    yield model("gemm", [helper.make_node("Flatten", ["x"], ["f"]),
                         helper.make_node("Gemm", ["f", "w", "b"], ["g"], transB=1),
                         helper.make_node("Gemm", ["g", "w2", "b2"], ["y"], alpha=0.5, beta=2.0)],
                [3, 2, 2, 3], 2, {"w": _w(rng, 5, 12), "b": vec(5), "w2": _w(rng, 5, 4), "b2": vec(4)})
    yield model("pool_ceil", [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2],
                                               ceil_mode=1),
                              helper.make_node("AveragePool", ["p"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                               pads=[0, 0, 1, 1], ceil_mode=1)],
                [2, 3, 10, 9], 4, {})
    yield model("concat_reshape", [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sigmoid", ["x"], ["s"]),
                                   helper.make_node("Concat", ["r", "s"], ["c"], axis=1),
                                   helper.make_node("Reshape", ["c", "shape"], ["y"])],
                [2, 3, 4, 5], 3, {"shape": numpy_helper.from_array(np.array([0, -1, 10], np.int64))})
    for axis in (1, -1):
        yield model(f"softmax_axis{axis}", [helper.make_node("Softmax", ["x"], ["y"], axis=axis)], [2, 3, 4, 5],
                    4, {})


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("opset", (13, 17))
def test_small_graphs_match_onnx_runtime(caffe2, tmp_path, opset):
    """Conv/BN/Gemm/Pool(ceil_mode)/Concat/Reshape/Softmax(axis 1 and -1 on 4-D) as ONNX defines them."""
    for name, model, shape in _graphs(opset):
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, str(path))
        x = np.random.default_rng(1).normal(0, 1, shape).astype(np.float32)
        _, ys = _run_plain(caffe2, _import(path, tmp_path / name), {"x": x})
        (want,) = run_onnx(model, {"x": x})
        assert_close(ys[0], want, rtol=1e-3, atol=1e-4, what=f"{name} at opset {opset} imported into Caffe2")


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_round_trip_caffe2_onnx_caffe2(caffe2, tmp_path, family):
    """Part-1 families: Caffe2 -> ONNX (onnxhub export) -> Caffe2 (onnxhub import), run by plain Caffe2,
    match the original Caffe2 outputs."""
    result, arrays = caffe2.call("build", dict(FAMILIES[family], name=family, folder=str(tmp_path / "orig"),
                                               seed=7, batch=2))
    x = arrays["x"]
    want = [arrays[f"y{i}"] for i in range(len(result["outputs"]))]
    onnx_path = tmp_path / f"{family}.onnx"
    r = run_cli("export", *_files(result), "-o", onnx_path)  # a dynamic batch: fixed at import
    assert r.returncode == 0, r.stderr
    shape = f"{result['input']}={','.join(map(str, x.shape))}"
    back, ys = _run_plain(caffe2, _import(onnx_path, tmp_path / "back", "--input-shape", shape), {result["input"]: x})
    assert back["outputs"] == result["outputs"]
    for i, (got, y) in enumerate(zip(ys, want)):
        assert_close(got, y, rtol=1e-3, atol=1e-4, what=f"{family} output {i} after the round trip")


def _save(tmp_path, nodes, opset=17, dtype=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", dtype, [1, 4])],
                              [helper.make_tensor_value_info("y", dtype, [1, 4])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def _refused(tmp_path, path, *match):
    r = run_cli("import", path, "--to", "caffe2", "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for m in match:
        assert m in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_unknown_ops_are_all_named_in_one_error(tmp_path):
    nodes = [helper.make_node("Round", ["x"], ["r"], name="rounding"), helper.make_node("Relu", ["r"], ["a"]),
             helper.make_node("DFT", ["a"], ["y"])]
    _refused(tmp_path, _save(tmp_path, nodes), "DFT, Round", "'rounding'", "Caffe2 importer")


def test_unsupported_dtype_is_refused(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], dtype=TensorProto.BFLOAT16)
    _refused(tmp_path, path, "bfloat16", "'x'")


def test_softmax_over_one_axis_is_transposed_around_caffe2s_softmax():
    """ONNX's opset-13 Softmax(axis=1) on 4-D normalises one axis; Caffe2's flattens from the axis."""
    from onnxhub_caffe2.formats.proto import messages
    from onnxhub_caffe2.import_.importer import convert

    name, model, _ = [g for g in _graphs(13) if g[0] == "softmax_axis1"][0]
    _, predict, info, _ = convert(model)
    net = messages()["NetDef"]()
    net.ParseFromString(predict)
    assert [op.type for op in net.op] == ["Transpose", "Softmax", "Transpose"]
    assert {a.name: a.i for a in net.op[1].arg}["axis"] == 3
    assert list(net.external_output) == ["y"] and info == {"x": [1, [2, 3, 4, 5]]}
    assert json.dumps(info)
