"""Ground truth for symbol-API networks (implicit defaults) and the wider operator table."""

import json

import numpy as np
import onnx
import pytest

import onnxhub
from onnxhub.testing import assert_close

from conftest import run_onnx

RECIPES = ["implicit_defaults", "conv_family", "pooling_family", "dense_family", "arith_family", "shape_family",
           "text_model"]


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize("recipe", RECIPES)
def test_symbol_network_matches_mxnet(mxnet, tmp_path, recipe, opset):
    prefix = str(tmp_path / recipe)
    _, truth = mxnet.call("symbol", {"name": recipe, "prefix": prefix, "seed": 3}, timeout=300)
    feeds = {k[len("input_"):]: v for k, v in truth.items() if k.startswith("input_")}
    shapes = {k: list(v.shape) for k, v in feeds.items()}
    model = onnxhub.export_model([f"{prefix}-symbol.json", f"{prefix}-0000.params"], source="mxnet", opset=opset,
                                 input_shapes=shapes, static_batch=True)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    names = [i.name for i in model.graph.input]
    got = run_onnx(model, {n: feeds[n] for n in names})
    outputs = sorted((k for k in truth if k.startswith("output")), key=lambda k: int(k[len("output"):]))
    assert len(got) == len(outputs)
    for i, key in enumerate(outputs):
        assert_close(got[i], truth[key], what=f"{recipe} output {i} ({model.graph.output[i].name})")


@pytest.mark.runtime("mxnet")
def test_implicit_defaults_are_mxnet_defaults(mxnet, tmp_path):
    """The symbol JSON leaves out fix_gamma, eps, flatten, pooling_convention: they must mean MXNet's defaults."""
    prefix = str(tmp_path / "net")
    mxnet.call("symbol", {"name": "implicit_defaults", "prefix": prefix})
    nodes = {n["name"]: n for n in json.load(open(prefix + "-symbol.json"))["nodes"]}
    assert "flatten" not in nodes["fc1"].get("attrs", {})
    assert "pooling_convention" not in nodes["pool1"].get("attrs", {})
    assert "fix_gamma" not in nodes["bn1"].get("attrs", {})
    model = onnxhub.export_model([prefix + "-symbol.json", prefix + "-0000.params"], source="mxnet",
                                 input_shapes=["data=2,3,17,17"])
    ops = [n.op_type for n in model.graph.node]
    assert "Flatten" in ops and "Gemm" in ops
    assert not any(i.name == "softmax_label" for i in model.graph.input)  # the unused label is dropped


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gluon_rnn_matches_mxnet(mxnet, tmp_path, kind, bidirectional):
    prefix = str(tmp_path / kind)
    _, truth = mxnet.call("gluon_rnn", {"kind": kind, "prefix": prefix, "bidirectional": bidirectional,
                                        "layers": 2})
    model = onnxhub.export_model([prefix + "-symbol.json", prefix + "-0000.params"], source="mxnet",
                                 input_shapes={"data": truth["x"].shape})
    onnx.checker.check_model(model)
    (y,) = run_onnx(model, {"data": truth["x"]})
    assert_close(y, truth["y"], what=f"{kind} bidirectional={bidirectional}")
    assert np.abs(truth["y"]).max() > 1e-3  # a meaningful output, not all zeros


def _old_style(path, key):
    """Rewrite a symbol file the way older MXNet releases wrote it: attributes under ``attr``
    (0.9-1.0) or ``param`` (before 0.9, with two-element inputs and no version stamp)."""
    data = json.load(open(path))
    for node in data["nodes"]:
        if "attrs" in node:
            node[key] = node.pop("attrs")
        if key == "param":
            node["inputs"] = [i[:2] for i in node["inputs"]]
    if key == "param":
        data.pop("attrs", None)
        data["heads"] = [h[:2] for h in data["heads"]]
    json.dump(data, open(path, "w"))


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("key", ["attr", "param"])
def test_older_symbol_json_variants(mxnet, tmp_path, key):
    prefix = str(tmp_path / "net")
    _, truth = mxnet.call("symbol", {"name": "conv_family", "prefix": prefix, "seed": 5})
    _old_style(prefix + "-symbol.json", key)
    feeds = {k[len("input_"):]: v for k, v in truth.items() if k.startswith("input_")}
    model = onnxhub.export_model([prefix + "-symbol.json", prefix + "-0000.params"], source="mxnet",
                                 input_shapes={k: v.shape for k, v in feeds.items()})
    got = run_onnx(model, {i.name: feeds[i.name] for i in model.graph.input})
    for i, value in enumerate(got):
        assert_close(value, truth[f"output{i}"], what=f"{key}-style output {i}")
