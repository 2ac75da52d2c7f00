"""Every kind of bad input ends in one line on stderr, exit code 2, and no output file."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import make_model


def assert_clean_failure(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onnxhub: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_file(cli, tmp_path):
    out = tmp_path / "out.npz"
    r = cli("run", tmp_path / "nope.onnx", "--random-inputs", "-o", out)
    assert_clean_failure(r, "no such file")
    assert not out.exists()


def test_random_bytes(cli, tmp_path):
    bad = tmp_path / "random.onnx"
    bad.write_bytes(np.random.default_rng(1).bytes(4096))
    out = tmp_path / "out.npz"
    r = cli("run", bad, "--random-inputs", "-o", out)
    assert_clean_failure(r, "random.onnx")
    assert not out.exists()


def test_empty_file(cli, tmp_path):
    bad = tmp_path / "empty.onnx"
    bad.write_bytes(b"")
    assert_clean_failure(cli("run", bad, "--random-inputs"), "empty")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_model(cli, tmp_path, tiny_model, keep):
    data = tiny_model.read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: int(len(data) * keep)])
    out = tmp_path / "out.npz"
    assert_clean_failure(cli("run", cut, "--random-inputs", "-o", out))
    assert not out.exists()


def test_model_failing_checker(cli, tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("NoSuchOp", ["y"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "unchecked.onnx"
    path.write_bytes(model.SerializeToString())
    assert_clean_failure(cli("run", path, "--random-inputs"), "onnx.checker")


def _external_model(folder, location):
    """The tiny model with W stored as external data at ``location``."""
    model = make_model()
    w = next(t for t in model.graph.initializer if t.name == "W")
    w.ClearField("raw_data")
    del w.float_data[:]
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value=location)
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _weights_bytes():
    return numpy_helper.to_array(next(t for t in make_model().graph.initializer if t.name == "W")).tobytes()


def test_external_data_absolute_path(cli, tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(_weights_bytes())
    folder = tmp_path / "m"
    folder.mkdir()
    assert_clean_failure(cli("run", _external_model(folder, str(secret)), "--random-inputs"), "absolute")


def test_external_data_dotdot(cli, tmp_path):
    (tmp_path / "secret.bin").write_bytes(_weights_bytes())
    folder = tmp_path / "m"
    folder.mkdir()
    assert_clean_failure(cli("run", _external_model(folder, "../secret.bin"), "--random-inputs"), "escapes")


def test_external_data_symlink_out(cli, tmp_path):
    (tmp_path / "secret.bin").write_bytes(_weights_bytes())
    folder = tmp_path / "m"
    folder.mkdir()
    os.symlink(tmp_path / "secret.bin", folder / "w.bin")
    assert_clean_failure(cli("run", _external_model(folder, "w.bin"), "--random-inputs"), "outside")


def test_external_data_inside_folder_works(cli, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(_weights_bytes())
    r = cli("run", _external_model(folder, "w.bin"), "--random-inputs", "--backend", "reference")
    assert r.returncode == 0, r.stderr


def test_external_data_truncated(cli, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(_weights_bytes()[:10])
    path = _external_model(folder, "w.bin")
    model = onnx.load(str(path), load_external_data=False)
    w = next(t for t in model.graph.initializer if t.name == "W")
    w.external_data.add(key="length", value=str(48))
    path.write_bytes(model.SerializeToString())
    assert_clean_failure(cli("run", path, "--random-inputs"), "truncated")


def test_wrong_input_shape(cli, tmp_path, tiny_model):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 5), np.float32))
    out = tmp_path / "out.npz"
    assert_clean_failure(cli("run", tiny_model, "-i", f"x={x}", "-o", out), "shape")
    assert not out.exists()


def test_wrong_input_dtype(cli, tmp_path, tiny_model):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 4), np.float64))
    assert_clean_failure(cli("run", tiny_model, "-i", f"x={x}"), "float32")


def test_corrupt_input_array(cli, tmp_path, tiny_model):
    x = tmp_path / "x.npy"
    x.write_bytes(b"\x93NUMPY garbage")
    assert_clean_failure(cli("run", tiny_model, "-i", f"x={x}"), "x.npy")


def test_missing_input(cli, tiny_model):
    assert_clean_failure(cli("run", tiny_model), "missing input")


def test_unknown_backend(cli, tiny_model):
    assert_clean_failure(cli("run", tiny_model, "--random-inputs", "--backend", "nope"), "no backend named 'nope'")


def test_existing_output_is_not_overwritten(cli, tmp_path, tiny_model):
    out = tmp_path / "out.npz"
    out.write_bytes(b"keep me")
    assert_clean_failure(cli("run", tiny_model, "--random-inputs", "-o", out), "--force")
    assert out.read_bytes() == b"keep me"


def test_export_of_unrecognised_files(cli, tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    out = tmp_path / "m.onnx"
    assert_clean_failure(cli("export", f, "-o", out), "--from")
    assert not out.exists()


def test_debug_shows_traceback(cli, tmp_path):
    r = cli("--debug", "run", tmp_path / "nope.onnx", "--random-inputs")
    assert r.returncode != 0 and "Traceback" in r.stderr
