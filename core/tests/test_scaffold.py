"""`onnxhub new-plugin`: the written project installs into a fresh venv and is discovered at once."""

import json
import subprocess
import venv

import pytest

from conftest import REPO, run_cli


def test_bad_name_is_usage_error(cli, tmp_path):
    r = cli("new-plugin", "Bad-Name", "-o", tmp_path / "x")
    assert r.returncode == 2 and "lower-case" in r.stderr and not (tmp_path / "x").exists()


def test_refuses_to_overwrite(cli, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "keep.txt").write_text("mine")
    r = cli("new-plugin", "myrt", "-o", tmp_path / "p")
    assert r.returncode == 2 and "--force" in r.stderr
    assert (tmp_path / "p" / "keep.txt").read_text() == "mine"


def test_scaffolded_plugins_install_in_a_fresh_venv_and_are_discovered(tmp_path):
    for kind in ("backend", "importer", "exporter"):
        r = run_cli("new-plugin", f"my{kind}", "--kind", kind, "-o", tmp_path / f"onnxhub-my{kind}")
        assert r.returncode == 0, r.stderr
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    pip = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{REPO / 'core'}[test]",
                          *(str(tmp_path / f"onnxhub-my{k}") for k in ("backend", "importer", "exporter"))],
                         capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        pytest.fail(f"pip install failed: {pip.stderr[-2000:]}")

    def hub(*args):
        r = subprocess.run([py, "-m", "onnxhub", *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    plugins = {p["name"]: p for p in hub("plugins", "--json")}
    for kind in ("backend", "importer", "exporter"):
        assert plugins[f"my{kind}"]["status"] == "ok"
        assert plugins[f"my{kind}"]["distribution"] == f"onnxhub-my{kind}"
    assert any(b["name"] == "mybackend" and b["status"] == "ready" for b in hub("list-backends", "--json"))
    assert any(i["name"] == "myimporter" and i["status"] == "ready" for i in hub("list-importers", "--json"))
    assert any(e["name"] == "myexporter" and e["status"] == "ready" for e in hub("list-exporters", "--json"))
    # The backend project's own tests, conformance suite included, pass in that venv.
    r = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / "onnxhub-mybackend",
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "xfailed" in r.stdout and " passed" in r.stdout


def _template_module(tmp_path, name, kind, module):
    """The module ``module`` of a rendered ``kind`` project, imported from its file."""
    import importlib.util

    from onnxhub.scaffold import render

    path = tmp_path / f"{kind}.py"
    path.write_text(render(name, kind)[f"src/onnxhub_{name}/{module}.py"])
    spec = importlib.util.spec_from_file_location(f"template_{kind}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_templates_name_every_unsupported_op_at_once(tmp_path):
    from onnx import TensorProto, helper

    from onnxhub.errors import UnsupportedOperator

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2]),
                                           helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    backend = _template_module(tmp_path, "myrt", "backend", "backend")
    assert backend.TABLE.ops(17) == ["Add", "Identity", "Mul", "Relu"] and backend.TABLE.ops(6) == ["Identity", "Relu"]
    with pytest.raises(UnsupportedOperator, match="Conv, MaxPool at opset 17"):
        backend.Backend.prepare(model)
    importer = _template_module(tmp_path, "myimp", "importer", "importer")
    with pytest.raises(UnsupportedOperator, match="Conv, MaxPool at opset 17 in the myimp importer"):
        importer.IMPORTER.import_model(model, tmp_path)
    exporter = _template_module(tmp_path, "myexp", "exporter", "exporter")
    (tmp_path / "net.graph.json").write_text(json.dumps({"inputs": {}, "outputs": {}, "layers": [
        {"op": "Pool", "inputs": [], "outputs": ["a"]}, {"op": "Relu", "inputs": ["a"], "outputs": ["b"]},
        {"op": "Conv", "inputs": ["b"], "outputs": ["c"]}]}))
    with pytest.raises(UnsupportedOperator, match="Conv, Pool at opset 17 in the myexp exporter"):
        exporter.EXPORTER.export([tmp_path / "net.graph.json"])
