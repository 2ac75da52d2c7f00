"""Bad `.model` input: one-line ``InvalidModel`` errors naming the file. No CNTK needed."""

import copy

import numpy as np
import pytest
from model_bytes import encode, tiny_model
from onnxhub_cntk.formats.model import read_model

from onnxhub.errors import InvalidModel

WEIGHT = np.arange(6, dtype=np.float32).reshape(3, 2) / 7


def _fails(data, match: str, tmp_path) -> str:
    path = tmp_path / "bad.model"
    path.write_bytes(data)
    with pytest.raises(InvalidModel, match=match) as err:
        read_model(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path)), text
    return text


def test_hand_built_model_reads():
    model = read_model(encode(tiny_model(WEIGHT)))
    (w, b) = model.parameters
    np.testing.assert_array_equal(w.value, WEIGHT)  # NumPy order, as CNTK's Python API shows it
    assert b.value.tolist() == [0.0, 1.0]
    assert [f.uid for f in model.top_level()] == ["Block8"]
    (dense,) = model.top_level()
    assert dense.block.op_name == "Dense" and dense.name == "dense"
    assert [f.op for f in model.body(dense)] == ["Times", "Plus", "ReLU"]
    assert model.functions["Times5"].attributes == {"outputRank": 1, "inferInputRankToMap": 0}
    assert model.outputs == ["Block8_Output_0"] and model.arguments[0].has_batch_axis


def test_every_truncation_is_invalid(tmp_path):
    data = encode(tiny_model(WEIGHT))
    for cut in range(0, len(data), 7):
        with pytest.raises(InvalidModel):
            read_model(data[:cut])
    _fails(data[:-5], "truncated", tmp_path)


def test_corrupt_and_foreign_files(tmp_path):
    import onnx
    from onnx import helper

    _fails(np.random.RandomState(0).bytes(4096), "not a CNTK v2 .model", tmp_path)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    _fails(helper.make_model(graph).SerializeToString(), "not a CNTK v2 .model", tmp_path)
    _fails(b"", "no CompositeFunction", tmp_path)
    _fails("BCN\0".encode("utf-16-le") + b"\0" * 64, "CNTK v1", tmp_path)


def _edited(edit):
    d = tiny_model(WEIGHT)
    edit(d)
    return encode(d)


def test_missing_and_wrong_keys(tmp_path):
    _fails(_edited(lambda d: d.pop("root")), "missing key 'root'", tmp_path)
    _fails(_edited(lambda d: d.update(root="Nowhere1")), "root 'Nowhere1' is not one of its functions", tmp_path)
    _fails(_edited(lambda d: d["primitive_functions"][0].update(op="Times")), "'op' has the wrong type", tmp_path)
    _fails(_edited(lambda d: d["primitive_functions"][2].update(op=500)), "unknown CNTK operator code 500",
           tmp_path)
    _fails(_edited(lambda d: d["primitive_functions"][3].pop("block_function_composite")),
           "'Block8'.*missing key 'block_function_composite'", tmp_path)
    _fails(_edited(lambda d: d["inputs"][0].update(kind=9)), "unknown variable kind 9", tmp_path)
    _fails(_edited(lambda d: d["primitive_functions"][2].update(type="UserDefinedFunction")),
           "user-defined", tmp_path)


def test_missing_parameter_names_the_function(tmp_path):
    text = _fails(_edited(lambda d: d["inputs"].pop(0)), "missing parameter", tmp_path)
    assert "'Times5'" in text and "'Parameter1'" in text


def test_parameter_values_must_fill_the_shape(tmp_path):
    def short(d):
        d["inputs"][0]["value"] = np.ones(5, np.float32)

    _fails(_edited(short), "array of shape \\(5,\\) holds 5 values|value of shape", tmp_path)

    def no_value(d):
        d["inputs"][1].pop("value")

    _fails(_edited(no_value), "'Parameter2'.*missing key 'value'", tmp_path)


def test_unreadable_path(tmp_path):
    with pytest.raises(InvalidModel, match="cannot read"):
        read_model(tmp_path / "missing.model")


def test_model_bytes_helper_roundtrip():
    d = tiny_model(WEIGHT)
    assert encode(copy.deepcopy(d)) == encode(d)


def test_tiny_model_exports_without_cntk(tmp_path):
    import onnx
    from onnx.reference import ReferenceEvaluator
    from onnxhub_cntk.export.exporter import EXPORTER

    path = tmp_path / "tiny.model"
    path.write_bytes(encode(tiny_model(WEIGHT)))
    model = EXPORTER.export([path], opset=13)
    onnx.checker.check_model(model, full_check=True)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], np.float32)
    (y,) = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_allclose(y, np.maximum(x @ WEIGHT + np.arange(2), 0), rtol=1e-6)
    assert [o.name for o in model.graph.output] == ["dense"]


def test_unknown_operator_exits_2_and_writes_nothing(tmp_path):
    from onnxhub.testing import run_cli

    def roi(d):  # ReLU7 becomes ROIPooling, which the table does not convert
        d["primitive_functions"][2].update(op=47)
        d["primitive_functions"][2]["inputs"].append("Parameter2")

    path = tmp_path / "roi.model"
    path.write_bytes(_edited(roi))
    out = tmp_path / "out.onnx"
    r = run_cli("export", path, "-o", out)
    assert r.returncode == 2, r.stderr
    assert not out.exists() and not list(tmp_path.glob("*.onnx*"))
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROIPooling" in lines[0] and "ReLU7" in lines[0], r.stderr


def test_corrupt_file_exits_2_and_writes_nothing(tmp_path):
    from onnxhub.testing import run_cli

    path = tmp_path / "cut.model"
    path.write_bytes(encode(tiny_model(WEIGHT))[:-9])
    r = run_cli("export", path, "-o", tmp_path / "out.onnx")
    assert r.returncode == 2 and not (tmp_path / "out.onnx").exists()
    assert len(r.stderr.strip().splitlines()) == 1 and "cut.model" in r.stderr, r.stderr


def test_large_weights_are_views_on_the_file(tmp_path):
    big = np.random.RandomState(1).normal(size=(20, 8)).astype(np.float32)  # 640 bytes: set aside
    path = tmp_path / "big.model"
    data = encode(tiny_model(big))
    path.write_bytes(data)
    w, b = read_model(path).parameters
    np.testing.assert_array_equal(w.value, big)
    assert not w.value.flags.writeable and not w.value.flags.owndata  # a view on the memory-mapped file
    assert b.value.tolist() == list(range(8))  # 32 bytes: stays inline
    for cut in (len(data) // 2, len(data) - 100, len(data) - 1):
        with pytest.raises(InvalidModel):
            read_model(data[:cut])
