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


def test_hyphenated_name_derives_module_and_distribution(cli, tmp_path):
    from onnxhub.scaffold import names, render

    assert names("acme-backend") == ("onnxhub-acme-backend", "onnxhub_acme_backend")
    assert names("acme_backend") == ("onnxhub-acme-backend", "onnxhub_acme_backend")  # never mixes - and _
    files = render("acme-backend", "backend")
    assert 'name = "onnxhub-acme-backend"' in files["pyproject.toml"]
    assert '"acme-backend" = "onnxhub_acme_backend.plugin"' in files["pyproject.toml"]
    assert "src/onnxhub_acme_backend/plugin.py" in files and "tests/test_acme_backend.py" in files
    for bad in ("acme--x", "acme-", "-acme", "1acme", "Acme"):
        with pytest.raises(Exception, match="lower-case"):
            names(bad)
    r = cli("new-plugin", "acme-backend", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "onnxhub-acme-backend" / "src" / "onnxhub_acme_backend" / "backend.py").is_file()


def test_several_kinds_make_one_plugin(cli, tmp_path):
    from onnxhub.scaffold import render

    files = render("acme-io", "exporter,importer")
    assert {"src/onnxhub_acme_io/importer.py", "src/onnxhub_acme_io/exporter.py", "tests/test_importer.py",
            "tests/test_exporter.py"} <= set(files) and "src/onnxhub_acme_io/backend.py" not in files
    plugin = files["src/onnxhub_acme_io/plugin.py"]
    assert "def register_importers" in plugin and "def register_exporters" in plugin
    assert "def register_backends" not in plugin
    all3 = render("acme", "backend,importer,exporter")["src/onnxhub_acme/plugin.py"]
    assert all(f"def register_{k}s" in all3 for k in ("backend", "importer", "exporter"))
    r = cli("new-plugin", "acme", "--kind", "importer,nosuch", "-o", tmp_path / "x")
    assert r.returncode == 2 and "--kind" in r.stderr and not (tmp_path / "x").exists()


def test_scaffolded_importer_output_is_accepted_by_scaffolded_exporter(tmp_path):
    import fnmatch

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from onnxhub.scaffold import TARGETS

    w = numpy_helper.from_array(np.eye(3, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
                              "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    importer = _template_module(tmp_path, "acme_io", "importer", "importer")
    exporter = _template_module(tmp_path, "acme_io", "exporter", "exporter")
    written = importer.IMPORTER.import_model(model, tmp_path)
    pattern = TARGETS["exporter"][5].split('"')[1]  # the exporter's registered file pattern
    assert any(fnmatch.fnmatch(p.name, pattern) for p in written)
    back = exporter.EXPORTER.export(written, opset=17)
    assert [n.op_type for n in back.graph.node] == ["MatMul", "Relu"]
    assert [t.name for t in back.graph.initializer] == ["w"]


def test_scaffolded_plugins_install_in_a_fresh_venv_and_are_discovered(tmp_path):
    # One venv: a hyphenated backend, and an importer + exporter in one plugin.
    projects = {"acme-backend": "backend", "acme-io": "importer,exporter"}
    for name, kind in projects.items():
        r = run_cli("new-plugin", name, "--kind", kind, "-o", tmp_path / f"onnxhub-{name}")
        assert r.returncode == 0, r.stderr
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    # Built as wheels, as a plugin author publishes them, then installed beside the hub.
    wheels = tmp_path / "wheelhouse"
    built = subprocess.run([py, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "-w", wheels,
                            *(str(tmp_path / f"onnxhub-{n}") for n in projects)],
                           capture_output=True, text=True, timeout=900)
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed: {built.stderr[-2000:]}")
    assert sorted(w.name.split("-")[0] for w in wheels.glob("*.whl")) == ["onnxhub_acme_backend", "onnxhub_acme_io"]
    pip = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{REPO / 'core'}[test]",
                          *(str(w) for w in sorted(wheels.glob("*.whl")))],
                         capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        pytest.fail(f"pip install failed: {pip.stderr[-2000:]}")

    def hub(*args, json_out=True):
        r = subprocess.run([py, "-m", "onnxhub", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout) if json_out else r.stdout

    plugins = {p["name"]: p for p in hub("plugins", "--json")}
    assert plugins["acme-backend"]["status"] == "ok" and plugins["acme-io"]["status"] == "ok"
    assert plugins["acme-backend"]["distribution"] == "onnxhub-acme-backend"
    assert plugins["acme-io"]["distribution"] == "onnxhub-acme-io"
    assert sorted(plugins["acme-io"]["hooks"]) == ["register_exporters", "register_importers"]
    assert any(b["name"] == "acme-backend" and b["status"] == "ready" for b in hub("list-backends", "--json"))
    assert any(i["name"] == "acme-io" and i["status"] == "ready" for i in hub("list-importers", "--json"))
    assert any(e["name"] == "acme-io" and e["status"] == "ready" for e in hub("list-exporters", "--json"))
    # Round trip: ONNX -> acme-io files -> ONNX, the exporter found from the importer's file names.
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    import onnx

    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    hub("import", "m.onnx", "--to", "acme-io", "-o", "acme", json_out=False)
    written = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "acme").iterdir())
    hub("export", *written, "-o", "back.onnx", json_out=False)
    back = onnx.load(tmp_path / "back.onnx")
    assert [n.op_type for n in back.graph.node] == ["Relu"]
    # Each project's own tests, the backend's conformance suite included, pass in that venv.
    for name in projects:
        r = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / f"onnxhub-{name}",
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-2000:]
        if name == "acme-backend":
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
