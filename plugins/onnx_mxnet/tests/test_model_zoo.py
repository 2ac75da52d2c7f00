"""Ground truth: every mx.gluon.model_zoo.vision architecture, exported by MXNet itself,
converted by onnxhub without MXNet, run by ONNX Runtime, compared with MXNet's output."""

import onnx
import pytest

import onnxhub
from onnxhub.testing import assert_close

from conftest import run_onnx

pytestmark = pytest.mark.ground_truth  # 34 architectures: once per CI run, not per Python

ZOO = ["alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "inceptionv3",
       "mobilenet0.25", "mobilenet0.5", "mobilenet0.75", "mobilenet1.0",
       "mobilenetv2_0.25", "mobilenetv2_0.5", "mobilenetv2_0.75", "mobilenetv2_1.0",
       "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
       "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2",
       "squeezenet1.0", "squeezenet1.1", "vgg11", "vgg13", "vgg16", "vgg19",
       "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("name", ZOO)
def test_model_zoo_matches_mxnet(mxnet, tmp_path, name):
    prefix = str(tmp_path / name)
    _, truth = mxnet.call("zoo", {"name": name, "prefix": prefix, "seed": 7, "batch": 2}, timeout=600)
    x = truth["x"]
    model = onnxhub.export_model([f"{prefix}-symbol.json", f"{prefix}-0000.params"], source="mxnet", opset=17,
                                 input_shapes={"data": (1, *x.shape[1:])})
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"  # dynamic batch by default
    (y,) = run_onnx(model, {"data": x})  # batch 2 through a model declared with batch 1
    assert_close(y, truth["y"], what=name)

    # Round trip: ONNX -> MXNet files (importer) -> plain MXNet, against ONNX Runtime on the ONNX file.
    written = onnxhub.import_model(model, "mxnet", tmp_path / "imported")
    symbol, params = (str(p) for p in written)
    _, back = mxnet.call("plain_forward", {"symbol": symbol, "params": params, "input": "data"}, {"x": x},
                         timeout=600)
    assert_close(back["y"], y, what=f"{name} imported into MXNet (executor)")
    assert_close(back["y_block"], y, what=f"{name} imported into MXNet (SymbolBlock.imports)")


@pytest.mark.runtime("mxnet")
def test_cli_export_streams_a_checker_clean_file(mxnet, tmp_path):
    """The CLI path writes weights one at a time; the file must be a plain, complete ONNX model."""
    from onnxhub.testing import run_cli

    prefix = str(tmp_path / "resnet50_v1")
    _, truth = mxnet.call("zoo", {"name": "resnet50_v1", "prefix": prefix, "seed": 1, "batch": 1}, timeout=600)
    out = tmp_path / "resnet50_v1.onnx"
    r = run_cli("export", f"{prefix}-symbol.json", f"{prefix}-0000.params", "-o", out,
                "--input-shape", "data=1,3,224,224", "--opset", "15")
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 15 and model.ir_version == 8
    (y,) = run_onnx(model, {"data": truth["x"]})
    assert_close(y, truth["y"], what="resnet50_v1 via the CLI")
