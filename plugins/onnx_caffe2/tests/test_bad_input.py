"""Bad input through the CLI: exit 2, one line naming the problem, no file written. No Caffe2 needed."""

import numpy as np
import pytest
from netdef_bytes import given, mlp, net, write

from onnxhub.testing import run_cli


def _fails(tmp_path, files, match):
    out = tmp_path / "out.onnx"
    r = run_cli("export", *files, "-o", out, "--from", "caffe2")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert match in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists()
    return lines[0]


@pytest.fixture
def pair(tmp_path):
    return write(tmp_path, *mlp())


def test_truncated_predict_net(tmp_path, pair):
    predict_path, init_path = pair
    data = predict_path.read_bytes()
    bad = tmp_path / "cut_predict_net.pb"
    bad.write_bytes(data[: len(data) - 7])
    _fails(tmp_path, [bad, init_path], "cut_predict_net.pb")


def test_truncated_init_net(tmp_path, pair):
    predict_path, init_path = pair
    data = init_path.read_bytes()
    bad = tmp_path / "cut_init_net.pb"
    bad.write_bytes(data[: len(data) // 2])
    _fails(tmp_path, [predict_path, bad], "cut_init_net.pb")


def test_corrupt_and_foreign_files(tmp_path, pair):
    predict_path, init_path = pair
    noise = tmp_path / "noise_init_net.pb"
    noise.write_bytes(np.random.RandomState(0).bytes(4096))
    _fails(tmp_path, [predict_path, noise], "not a Caffe2 NetDef")
    empty = tmp_path / "empty_init_net.pb"
    empty.write_bytes(b"")
    _fails(tmp_path, [predict_path, empty], "empty file")
    text = tmp_path / "garbage_predict_net.pbtxt"
    text.write_text("op { type: 'Relu' input: 'x' output: 'y' } }}}")
    _fails(tmp_path, [text, init_path], "not a Caffe2 NetDef")


def test_two_init_nets_or_two_predict_nets(tmp_path, pair):
    predict_path, init_path = pair
    _fails(tmp_path, [init_path, init_path], "predict_net is missing")
    _fails(tmp_path, [predict_path, predict_path], "init_net with the weights is missing")
    _fails(tmp_path, [init_path], "is an init net (only fill ops); the predict_net is missing")
    _fails(tmp_path, [predict_path, init_path, init_path], "takes two files")


def test_a_predict_net_alone_makes_every_blob_it_reads_an_input(tmp_path, pair):
    # Caffe2's frontend takes init_net=None; this exporter refused it (#26)
    predict_path, _ = pair
    _fails(tmp_path, [predict_path], "pass --input-shape")  # nothing tells W's shape
    out = tmp_path / "out.onnx"
    shapes = ["--input-shape", "x=2,4", "--input-shape", "W=3,4", "--input-shape", "b=3"]
    r = run_cli("export", predict_path, "-o", out, "--from", "caffe2", *shapes)
    assert r.returncode == 0, r.stderr
    import onnx

    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["x", "W", "b"] and not model.graph.initializer


def test_missing_weight(tmp_path):
    predict, _ = mlp()
    init = net("init", [given("W", np.ones((3, 4), np.float32))])  # no "b"
    paths = write(tmp_path, predict, init)
    _fails(tmp_path, paths, "reads blob 'b'")


def test_weight_with_too_few_values(tmp_path):
    predict, _ = mlp()
    init = net("init", [("GivenTensorFill", [], ["W"], {"shape": [3, 4], "values": [0.5] * 11}), given("b", [1.0] * 3)])
    _fails(tmp_path, write(tmp_path, predict, init), "11 values for shape [3, 4]")


def test_random_fills_are_not_weights(tmp_path):
    predict, _ = mlp()
    init = net("init", [("XavierFill", [], ["W"], {"shape": [3, 4]}), given("b", [1.0] * 3)])
    _fails(tmp_path, write(tmp_path, predict, init), "XavierFill")


def test_unknown_op_names_op_net_and_index(tmp_path):
    predict, init = mlp(extra_ops=[("FancyOp", ["h"], ["h"], {}), ("OtherOp", ["h"], ["h"], {})])
    line = _fails(tmp_path, write(tmp_path, predict, init), "unsupported operator")
    assert "FancyOp" in line and "OtherOp" in line and "mlp" in line and "#2" in line, line


def test_every_truncation_is_invalid(tmp_path, pair):
    from onnxhub_caffe2.formats.netdef import read_netdef

    from onnxhub.errors import InvalidModel

    for path in pair:
        data = path.read_bytes()
        for cut in range(1, len(data), 3):
            bad = tmp_path / "cut.pb"
            bad.write_bytes(data[:cut])
            try:
                read_netdef(bad)
            except InvalidModel as e:
                assert "\n" not in str(e) and str(bad) in str(e)
            # a cut at a field boundary can leave a shorter, valid NetDef: the exporter then finds the gap


def test_flipped_bytes_never_crash(tmp_path, pair):
    from onnxhub_caffe2.export.exporter import EXPORTER

    from onnxhub.errors import OnnxHubError

    predict_path, init_path = pair
    rng = np.random.RandomState(1)
    (tmp_path / "flipped").mkdir()
    for path in (predict_path, init_path):
        data = bytearray(path.read_bytes())
        for _ in range(150):
            bad = bytearray(data)
            for i in rng.randint(0, len(bad), 3):
                bad[i] = rng.randint(0, 256)
            target = tmp_path / "flipped" / path.name
            target.write_bytes(bytes(bad))
            other = init_path if path == predict_path else predict_path
            try:
                EXPORTER.export([target, other] if path == predict_path else [other, target])
            except OnnxHubError as e:
                assert "\n" not in str(e), str(e)


def test_input_shape_that_does_not_fit_the_weights(tmp_path, pair):
    # W is [n, in]: data one wider than the weights made a file ONNX Runtime rejects, with exit 0 (#27 item 8)
    out = tmp_path / "out.onnx"
    from netdef_bytes import W

    r = run_cli("export", *pair, "-o", out, "--from", "caffe2", "--input-shape", f"x=2,{W.shape[1] + 1}")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "exported model is inconsistent" in r.stderr and "--input-shape" in r.stderr and not out.exists()
    r = run_cli("export", *pair, "-o", out, "--from", "caffe2", "--input-shape", f"x=2,{W.shape[1]}")
    assert r.returncode == 0 and out.is_file(), r.stderr


def test_input_shape_naming_no_input_is_refused(tmp_path, pair):
    out = tmp_path / "out.onnx"
    r = run_cli("export", *pair, "-o", out, "--from", "caffe2", "--input-shape", "nosuch=1,4")
    assert r.returncode == 2 and "--input-shape names nosuch" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
