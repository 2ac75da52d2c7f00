import json

import numpy as np
import onnxruntime as ort
import pytest

import onnxhub
from onnxhub.errors import UnsupportedModel, UnsupportedOperator, UsageError
from onnxhub_onnxruntime.backend import PROVIDERS, OnnxRuntimeBackend, provider_list
from onnxhub_onnxruntime.plugin import installed_devices

from conftest import run_cli, small_model

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_registered_and_ready():
    rows = {r["name"]: r for r in onnxhub.backends()}
    assert rows["onnxruntime"]["status"] == "ready"
    assert rows["onnxruntime"]["devices"] == list(installed_devices())
    assert onnxhub.get_backend("onnxruntime") is OnnxRuntimeBackend


def test_device_support_follows_available_providers():
    available = ort.get_available_providers()
    for device, providers in PROVIDERS.items():
        assert OnnxRuntimeBackend.supports_device(device) == (providers[0] in available)
        assert OnnxRuntimeBackend.supports_device(device.upper()) == (providers[0] in available)
    assert not OnnxRuntimeBackend.supports_device("tpu")


@pytest.mark.skipif(HAS_CUDA, reason="this ONNX Runtime build has CUDA; the refusal path cannot be shown")
def test_unavailable_device_is_a_clear_usage_error():
    with pytest.raises(UsageError, match=r"offers devices \['cpu'\], not 'cuda'"):
        OnnxRuntimeBackend.prepare(small_model(), "cuda")


def test_cpu_run_matches_reference():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    got = OnnxRuntimeBackend.prepare(model, "CPU").run([x])
    want = onnxhub.get_backend("reference").prepare(model).run([x])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    by_name = OnnxRuntimeBackend.prepare(model, "CPU").run({"x": x})
    np.testing.assert_array_equal(by_name[0], got[0])


def test_options_reach_the_session():
    rep = OnnxRuntimeBackend.prepare(small_model(), "cpu", intra_op_num_threads=1, inter_op_num_threads=1,
                                     graph_optimization_level="basic", execution_mode="sequential")
    so = rep.session.get_session_options()
    assert so.intra_op_num_threads == 1 and so.inter_op_num_threads == 1
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert rep.session.get_providers() == ["CPUExecutionProvider"]


def test_provider_list_puts_device_first_with_options_and_cpu_last():
    assert provider_list("cuda", {"device_id": "1"}) == [("CUDAExecutionProvider", {"device_id": "1"}),
                                                         "CPUExecutionProvider"]
    assert provider_list("tensorrt", {})[-1] == "CPUExecutionProvider"
    assert provider_list("cpu", {}) == [("CPUExecutionProvider", {})]


@pytest.mark.parametrize("options, message", [
    ({"threads": 2}, "unknown onnxruntime option"),
    ({"graph_optimization_level": "max"}, "graph_optimization_level must be"),
    ({"provider_options": "x"}, "provider_options must be a dict"),
])
def test_bad_options(options, message):
    with pytest.raises(UsageError, match=message):
        OnnxRuntimeBackend.prepare(small_model(), "cpu", **options)


def test_cli_option_passing(model_file):
    r = run_cli("run", model_file, "--random-inputs", "--option", "intra_op_num_threads=1",
                "--option", "graph_optimization_level=disable", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["backend"] == "onnxruntime"
    r = run_cli("run", model_file, "--random-inputs", "--option", "bogus=1")
    assert r.returncode == 2 and "unknown onnxruntime option" in r.stderr and "Traceback" not in r.stderr


def test_too_new_ir_version_names_both_versions():
    with pytest.raises(UnsupportedModel, match=r"IR version 99 is newer than onnxruntime [\d.]+ accepts \(max IR \d+\)"):
        OnnxRuntimeBackend.prepare(small_model(ir_version=99))


def test_too_new_opset_names_both_versions():
    with pytest.raises(UnsupportedModel, match=r"opset 60 is newer than onnxruntime [\d.]+ accepts \(max opset \d+\)"):
        OnnxRuntimeBackend.prepare(small_model(opset=60))


def test_missing_kernel_is_unsupported_operator():
    from onnx import TensorProto, helper

    # Adam lives in the preview training domain, which inference builds do not carry.
    node = helper.make_node("Adam", ["r", "t", "x", "g", "v", "h"], ["x2", "v2", "h2"],
                            domain="ai.onnx.preview.training")
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x", "g", "v", "h")]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
                                            helper.make_tensor_value_info("t", TensorProto.INT64, []), *vi],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x2", "v2", "h2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.preview.training", 1)])
    with pytest.raises(UnsupportedOperator, match="Adam"):
        OnnxRuntimeBackend.prepare(model)


def test_default_backend_is_onnxruntime_when_installed(model_file):
    r = run_cli("run", model_file, "--random-inputs", "--json")
    assert json.loads(r.stdout)["backend"] == "onnxruntime"
    r = run_cli("run", model_file, "--random-inputs", "--json", env={"ONNXHUB_PLUGINS": ""})
    assert json.loads(r.stdout)["backend"] == "reference"
    r = run_cli("run", model_file, "--random-inputs", "--json", "--backend", "reference")
    assert json.loads(r.stdout)["backend"] == "reference"


def test_verify_onnxruntime_against_reference(model_file):
    r = run_cli("verify", model_file, "--backends", "reference,onnxruntime", "--random-inputs", "--dim", "N=7")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDAExecutionProvider in this ONNX Runtime build "
                    f"(available: {ort.get_available_providers()}); install onnxruntime-gpu on a GPU machine")
def test_cuda_run_matches_cpu():
    model = small_model()
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    rep = OnnxRuntimeBackend.prepare(model, "cuda", provider_options={"device_id": 0})
    assert rep.session.get_providers()[0] == "CUDAExecutionProvider"
    assert rep.session.get_provider_options()["CUDAExecutionProvider"]["device_id"] == "0"
    np.testing.assert_allclose(rep.run([x])[0], OnnxRuntimeBackend.prepare(model, "cpu").run([x])[0],
                               rtol=1e-4, atol=1e-5)
