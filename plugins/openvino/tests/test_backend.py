import json
import os
import subprocess
import sys

import numpy as np
import openvino as ov
import pytest
from onnx import TensorProto, helper

import onnxhub
from onnxhub.errors import UnsupportedOperator, UsageError
from onnxhub_openvino.backend import DEVICES, OpenVinoBackend, available_devices, first_line
from onnxhub_openvino.plugin import installed_devices

from conftest import run_cli, small_model

REPORTED = {d.split(".")[0] for d in ov.Core().available_devices}


def test_registered_and_ready():
    rows = {r["name"]: r for r in onnxhub.backends()}
    assert rows["openvino"]["status"] == "ready"
    assert rows["openvino"]["devices"] == list(installed_devices())
    assert "cpu" in rows["openvino"]["devices"]
    assert onnxhub.get_backend("openvino") is OpenVinoBackend


def test_device_support_follows_what_openvino_reports():
    for device, ov_name in DEVICES.items():
        assert OpenVinoBackend.supports_device(device) == (ov_name in REPORTED)
        assert OpenVinoBackend.supports_device(device.upper()) == (ov_name in REPORTED)
    assert not OpenVinoBackend.supports_device("tpu")
    assert "cpu" in available_devices()


@pytest.mark.skipif("GPU" in REPORTED, reason="OpenVINO reports a GPU here; the refusal path cannot be shown")
def test_absent_device_is_a_one_line_usage_error(model_file):
    with pytest.raises(UsageError, match=r"offers devices \['cpu'.*\], not 'gpu'"):
        OpenVinoBackend.prepare(small_model(), "gpu")
    r = run_cli("run", model_file, "--backend", "openvino", "--device", "gpu", "--random-inputs")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: ") and "gpu" in lines[0], r.stderr


def test_cpu_run_matches_reference():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    got = OpenVinoBackend.prepare(model, "CPU").run([x])
    want = onnxhub.get_backend("reference").prepare(model).run([x])
    assert got[0].dtype == np.float32 and got[0].shape == (5, 3)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    by_name = OpenVinoBackend.prepare(model, "cpu").run({"x": x})
    np.testing.assert_array_equal(by_name[0], got[0])


def test_precision_is_f32_by_default():
    rep = OpenVinoBackend.prepare(small_model(batch=2), "cpu")
    (compiled,) = rep._cache.values()
    assert compiled.model.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    assert rep.config["INFERENCE_PRECISION_HINT"] == "f32"


def test_precision_option_reaches_compile_model():
    rep = OpenVinoBackend.prepare(small_model(batch=2), "cpu", precision="bf16", num_threads=1,
                                  performance_hint="latency")
    assert rep.config == {"INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": 1,
                          "PERFORMANCE_HINT": "LATENCY"}
    (compiled,) = rep._cache.values()
    # a CPU without bf16 arithmetic keeps f32; one with it computes in bf16
    assert compiled.model.get_property("INFERENCE_PRECISION_HINT") in (ov.Type.bf16, ov.Type.f32)
    assert compiled.model.get_property("INFERENCE_NUM_THREADS") == 1


@pytest.mark.parametrize("options, message", [
    ({"threads": 2}, "unknown openvino option"),
    ({"precision": "int8"}, "precision must be one of f32, f16, bf16"),
    ({"num_threads": "x"}, "num_threads must be an int"),
    ({"performance_hint": "fast"}, "performance_hint must be one of"),
    ({"config": "x"}, "config must be a dict"),
])
def test_bad_options(options, message):
    with pytest.raises(UsageError, match=message):
        OpenVinoBackend.prepare(small_model(), "cpu", **options)


def test_same_shapes_do_not_recompile():
    rep = OpenVinoBackend.prepare(small_model(), "cpu")
    assert rep.compiles == 0  # a dynamic batch: compiled on first run, per shape signature
    rng = np.random.default_rng(2)
    x1, x8 = (rng.standard_normal((n, 4)).astype(np.float32) for n in (1, 8))
    first = rep.run([x1])
    assert rep.compiles == 1
    np.testing.assert_array_equal(rep.run([x1])[0], first[0])
    rep.run({"x": x1})
    assert rep.compiles == 1
    rep.run([x8])
    rep.run([x8])
    assert rep.compiles == 2
    rep.run([x1])
    assert rep.compiles == 2


def test_static_model_compiles_once_at_prepare():
    rep = OpenVinoBackend.prepare(small_model(batch=3), "cpu")
    assert rep.compiles == 1
    x = np.ones((3, 4), np.float32)
    rep.run([x])
    rep.run([x])
    assert rep.compiles == 1


def test_unsupported_operator_is_one_error_naming_the_ops():
    graph = helper.make_graph([helper.make_node("Foo", ["x"], ["y"], domain="acme"),
                               helper.make_node("Bar", ["y"], ["z"], domain="acme")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)])
    with pytest.raises(UnsupportedOperator, match=r"unsupported operator .*Bar.*Foo.* in OpenVINO") as err:
        OpenVinoBackend.prepare(model)
    assert "\n" not in str(err.value)


def test_unsupported_operator_on_the_command_line(tmp_path):
    # Adam lives in the preview training domain; OpenVINO's ONNX frontend has no rule for it
    node = helper.make_node("Adam", ["r", "t", "x", "g", "v", "h"], ["x2", "v2", "h2"],
                            domain="ai.onnx.preview.training")
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x", "g", "v", "h")]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
                                            helper.make_tensor_value_info("t", TensorProto.INT64, []), *vi],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x2", "v2", "h2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.preview.training", 1)])
    path = tmp_path / "adam.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_cli("run", path, "--backend", "openvino", "--random-inputs")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "unsupported operator" in lines[0] and "Adam" in lines[0], r.stderr


def test_run_failure_is_one_line(tmp_path):
    from onnx import numpy_helper

    graph = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 7])],
                              [numpy_helper.from_array(np.array([5, 7], np.int64), "s")])
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    r = run_cli("run", path, "--random-inputs", "--backend", "openvino")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    assert "Exception from" not in lines[0] and "Traceback" not in r.stderr


def test_first_line_drops_source_locations():
    text = ("Exception from src/inference/src/cpp/core.cpp:105:\nCheck 'false' failed at src/x.cpp:151:\n"
            "FrontEnd API failed with OpConversionFailure:\nthe real reason\n\n")
    assert first_line(text) == "the real reason"


def test_cli_option_passing(model_file):
    r = run_cli("run", model_file, "--backend", "openvino", "--random-inputs", "--option", "precision=f32",
                "--option", "num_threads=1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["backend"] == "openvino"
    r = run_cli("run", model_file, "--backend", "openvino", "--random-inputs", "--option", "bogus=1")
    assert r.returncode == 2 and "unknown openvino option" in r.stderr and "Traceback" not in r.stderr


def test_verify_openvino_against_reference(model_file):
    r = run_cli("verify", model_file, "--backends", "reference,openvino", "--random-inputs", "--dim", "N=7")
    assert r.returncode == 0, r.stdout + r.stderr


def test_scalar_and_empty_outputs_keep_their_shape_and_type():
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0), helper.make_node("Shape", ["x"], ["shape"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 0])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    s, shape = OpenVinoBackend.prepare(model).run([np.zeros((2, 0), np.float32)])
    assert s.shape == () and s.dtype == np.float32 and s == 0
    assert shape.dtype == np.int64 and list(shape) == [2, 0]


def test_nothing_phones_home(tmp_path, model_file):
    # `import openvino` would send a usage event and write a client id under ~/intel; the plugin's
    # package marks openvino_telemetry unimportable first, so OpenVINO uses its no-op stub.
    assert sys.modules["openvino_telemetry"] is None
    r = run_cli("run", model_file, "--backend", "openvino", "--random-inputs", env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "intel").exists()
    probe = ("import sys, onnxhub, numpy as np; rep = onnxhub.get_backend('openvino').prepare(sys.argv[1]); "
             "rep.run([np.ones((1, 4), np.float32)]); print(sys.modules['openvino_telemetry'])")
    r = subprocess.run([sys.executable, "-c", probe, str(model_file)], capture_output=True, text=True,
                       env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 0 and r.stdout.strip() == "None", r.stderr
    assert not (tmp_path / "intel").exists()
