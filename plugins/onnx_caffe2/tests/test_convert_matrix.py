"""The verified conversion matrix in CI: a subset of ``benchmarks/conversion_matrix.py`` (``nox -s matrix``).

One family per source framework (a Caffe2 net, a CNTK model, an MXNet classifier), each built
and saved by the real framework (or, for MXNet, written in its savers' layout and run by real
MXNet), converted through the CLI to every other framework and to ONNX with ``--verify``:
exit 0 and every output verified (source files on real A, written files on real B). And the
refusals the matrix documents (docs/switching.md): a target that cannot express a model says
so in one line, exit 2, and writes nothing.
"""

import json
from pathlib import Path

import pytest
from onnxhub_mxnet.samples import write_model

from onnxhub.testing import ensure_runtime, run_cli, runtime_worker

HERE = Path(__file__).parent
CNTK_SIDE = HERE.parent.parent / "onnx_cntk" / "tests" / "cntk_side.py"
TARGETS = ["onnx", "mxnet", "caffe2", "cntk"]
JUDGE = {"onnx": "onnxruntime"}

pytestmark = [pytest.mark.ground_truth, pytest.mark.runtime("caffe2"), pytest.mark.runtime("cntk"),
              pytest.mark.runtime("mxnet")]


@pytest.fixture(scope="module")
def sources(caffe2, tmp_path_factory):
    """``{source: (files, extra CLI args)}``: one model per source framework, plus the refused Caffe2 net."""
    ensure_runtime("mxnet")  # this plugin's tests may run before the MXNet plugin's have installed it
    folder = tmp_path_factory.mktemp("matrix")
    out = {}
    for name in ("lenet", "misc_ops"):
        result, _ = caffe2.call("build", {"name": name, "folder": str(folder / name), "style": "zoo", "batch": 1},
                                timeout=600)
        out["caffe2" if name == "lenet" else "caffe2:misc_ops"] = (
            [result["paths"]["predict"], result["paths"]["init"]], [])  # value_info.json beside them
    with runtime_worker("cntk", CNTK_SIDE) as cntk:
        cntk.call("build", {"name": "cnn", "path": str(folder / "cnn.model")}, timeout=600)
    out["cntk"] = ([str(folder / "cnn.model")], [])
    out["mxnet"] = ([str(p) for p in write_model(folder / "mx", "classifier", seed=3, depth=3)], [])
    return out


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", ["caffe2", "cntk", "mxnet"])
def test_matrix_cell_converts_and_verifies(sources, source, target, tmp_path):
    files, extra = sources[source]
    r = run_cli("convert", *files, "--from", source, "--to", target, "-o", tmp_path / "out", "--verify", "--json",
                *extra, timeout=600)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["ok"] and result["differences"], result
    for row in result["differences"]:
        assert row["ok"] and row["source"] == source and row["target"] == JUDGE.get(target, target), row
        assert row["max_abs"] is not None and row["max_abs"] <= 1e-4 + 1e-3 * row["scale"], row
        assert "below atol" not in row["note"], row  # an output this small would check nothing


@pytest.mark.parametrize("target, says", [
    ("cntk", ["Reshape", "vec/Reshape", "batch axis", "CNTK importer"]),  # folds the batch axis into the data
    ("mxnet", ["Max", "3 inputs", "MXNet importer"]),  # MXNet's importer has no Max of more than two inputs
])
def test_matrix_refusal_is_one_line(sources, target, says, tmp_path):
    files, _ = sources["caffe2:misc_ops"]
    r = run_cli("convert", *files, "--from", "caffe2", "--to", target, "-o", tmp_path / "out", "--verify", timeout=600)
    assert r.returncode == 2, (r.stdout, r.stderr)
    (line,) = r.stderr.strip().splitlines()
    assert all(word in line for word in says), line
    assert not (tmp_path / "out").exists()
