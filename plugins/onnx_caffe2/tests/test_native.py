"""``run_files`` / ``group_files`` of the Caffe2 exporter and importer (``onnxhub convert --verify``).

Nets built and saved by real Caffe2 (``caffe2_side.build``: ``mobile_exporter`` files with the
input's placeholder fill, the model zoo's ``value_info.json``, text ``.pbtxt``) and their
outputs at batch 2 are the ground truth; ``run_files`` must give the same outputs from the
same files, and the files the importer writes must run in plain Caffe2 to the same outputs.
"""

import json

import pytest
from onnxhub_caffe2.export.exporter import EXPORTER
from onnxhub_caffe2.import_.importer import IMPORTER
from onnxhub_caffe2.native import group_files

from onnxhub.testing import assert_close, run_cli

FAMILIES = {
    "lenet": {"style": "mobile"},  # init_net fills the input with a [1, 1] placeholder
    "squeezenet": {"style": "mobile", "text": True},
    "vgg_bn": {"style": "zoo"},
    "alexnet": {"style": "plain"},
}


def test_group_files_pairs_predict_and_init_nets_per_folder():
    files = ["a/predict_net.pb", "a/init_net.pb", "a/value_info.json", "b/init_net.pbtxt", "b/predict_net.pbtxt",
             "c/x_predict_net.pb", "c/x_init_net.pb", "c/y_predict_net.pb", "d/predict_net.pb", "e/notes.pbtxt"]
    # a predict net alone is a model of its own (init_net=None: its weights are inputs); an init net alone is not
    assert group_files(files + ["f/init_net.pb"]) == [
        ["a/predict_net.pb", "a/init_net.pb"], ["b/predict_net.pbtxt", "b/init_net.pbtxt"],
        ["c/x_predict_net.pb", "c/x_init_net.pb"], ["c/y_predict_net.pb"], ["d/predict_net.pb"]]


def test_the_converters_offer_run_files():
    assert callable(EXPORTER.run_files) and callable(EXPORTER.group_files) and callable(IMPORTER.run_files)


@pytest.fixture(scope="module")
def built(caffe2, tmp_path_factory):
    folder = tmp_path_factory.mktemp("caffe2_native")
    out = {}
    for seed, (name, how) in enumerate(FAMILIES.items(), 30):
        result, arrays = caffe2.call("build", dict(how, name=name, folder=str(folder / name), seed=seed, batch=2))
        ys = [arrays[f"y{i}"] for i in range(len(result["outputs"]))]
        out[name] = (result, arrays["x"], ys)
    return out


def _files(result):
    return [result["paths"]["predict"], result["paths"]["init"]]


def _shape(result, x):
    return f"{result['input']}={','.join(map(str, x.shape))}"


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_run_files_is_caffe2_on_the_users_files(built, family):
    result, x, ys = built[family]
    for files in (_files(result), _files(result)[::-1]):  # the two nets in any order
        got = EXPORTER.run_files(files, {result["input"]: x})
        for name, y in zip(result["outputs"], ys):
            assert_close(got[name], y, rtol=1e-6, atol=1e-7, what=f"{family} output {name!r}")


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_importer_run_files_runs_the_written_nets(built, family, tmp_path):
    result, x, ys = built[family]
    model = EXPORTER.export(_files(result), input_shapes=[_shape(result, x)])
    written = IMPORTER.import_model(model, tmp_path)  # the dynamic batch becomes 1 (the importer's nets are static)
    got = IMPORTER.run_files([str(p) for p in written], {result["input"]: x[:1]})
    for name, y in zip(result["outputs"], ys):
        assert_close(got[name], y[:1], rtol=1e-3, atol=1e-4, what=f"{family} re-imported, output {name!r}")


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("target, judge", [("caffe2", "caffe2"), ("onnx", "onnxruntime")])
@pytest.mark.parametrize("family", ["lenet", "vgg_bn", "squeezenet"])
def test_convert_verify(built, family, target, judge, tmp_path):
    result, x, _ = built[family]
    r = run_cli("convert", *_files(result), "--from", "caffe2", "--to", target, "-o", tmp_path / "out", "--verify",
                "--input-shape", _shape(result, x), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"], rep
    rows = rep["differences"]
    assert [row["output"] for row in rows] == result["outputs"]
    for row in rows:
        assert row["ok"] and row["target"] == judge and row["max_abs"] < 1e-4, row


@pytest.mark.runtime("caffe2")
def test_convert_verify_prints_a_difference_table(built, tmp_path):
    result, x, _ = built["lenet"]
    r = run_cli("convert", *_files(result), "--from", "caffe2", "--to", "caffe2", "-o", tmp_path / "out", "--verify",
                "--input-shape", _shape(result, x))
    assert r.returncode == 0, r.stderr
    assert "max abs diff" in r.stdout and "softmax" in r.stdout


@pytest.mark.runtime("caffe2")
def test_convert_verify_refuses_to_guess_free_dims(built, tmp_path):
    """No value_info.json and no --input-shape: the height and width are unknown; --verify asks for them
    (one line, exit 2, nothing written) instead of running Caffe2 on a 1x1 image."""
    result, x, _ = built["alexnet"]  # style "plain": predict + init nets only
    r = run_cli("convert", *_files(result), "--from", "caffe2", "--to", "caffe2", "-o", tmp_path / "out", "--verify")
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert f"--input-shape {result['input']}=1,3,?,?" in line and "dimension(s) 2, 3" in line, line
    assert not (tmp_path / "out").exists()
    r = run_cli("convert", *_files(result), "--from", "caffe2", "--to", "caffe2", "-o", tmp_path / "out", "--verify",
                "--input-shape", _shape(result, x[:1]))
    assert r.returncode == 0, r.stderr
