import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

from conftest import install_fake_plugin, run_cli


def test_list_backends_json(cli):
    r = cli("list-backends", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    ref = next(row for row in rows if row["name"] == "reference")
    assert set(ref) == {"name", "summary", "plugin", "devices", "runtime", "status"}
    assert ref["status"] == "ready" and ref["devices"] == ["cpu"] and ref["plugin"] == "reference"


def test_listings_and_help_import_neither_onnx_nor_numpy():
    probe = (
        "import sys, io, contextlib\n"
        "from onnxhub.cli.main import main\n"
        "for argv in (['list-backends'], ['list-backends', '--json'], ['plugins', '--json'], ['list-importers'],"
        " ['list-exporters'], ['runtime', 'list']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        "for argv in (['--help'], ['run', '--help'], ['test-backend', '--help']):\n"
        "    try:\n"
        "        with contextlib.redirect_stdout(io.StringIO()):\n"
        "            main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'numpy', 'onnxruntime', 'mxnet', 'rich'))\n"
        "print(heavy)\n"
    )
    import subprocess

    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_run_random_inputs_prints_and_saves(cli, tmp_path, tiny_model):
    out = tmp_path / "out.npz"
    r = cli("run", tiny_model, "--random-inputs", "--dim", "N=5", "--backend", "reference", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "y" in r.stdout and "float32" in r.stdout and "5,3" in r.stdout
    with np.load(out) as data:
        assert data["y"].shape == (5, 3) and (data["y"] >= 0).all()


def test_run_matches_numpy_on_given_input(cli, tmp_path, tiny_model):
    from onnx import numpy_helper

    model = onnx.load(str(tiny_model))
    w, b = (numpy_helper.to_array(t) for t in model.graph.initializer)
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    r = cli("run", tiny_model, "-i", tmp_path / "x.npy", "--backend", "reference", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["backend"] == "reference" and summary["outputs"][0]["shape"] == [2, 3]
    with np.load(out) as data:
        np.testing.assert_allclose(data["y"], np.maximum(x @ w + b, 0), rtol=1e-6)


def test_run_npz_inputs(cli, tmp_path, tiny_model):
    np.savez(tmp_path / "in.npz", x=np.ones((3, 4), np.float32))
    r = cli("run", tiny_model, "-i", tmp_path / "in.npz", "--backend", "reference", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outputs"][0]["shape"] == [3, 3]


def test_verify_same_backend_twice_passes(cli, tiny_model):
    r = cli("verify", tiny_model, "--backends", "reference,reference", "--random-inputs", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["outputs"][0]["max_abs"] == 0.0


NOISY = """
from onnxhub import hookimpl, BackendSpec
from onnxhub.backend.reference import ReferenceBackend, ReferenceRep


class NoisyRep(ReferenceRep):
    def run(self, inputs, **kw):
        return [o + 0.5 for o in super().run(inputs)]


class NoisyBackend(ReferenceBackend):
    name = "noisy"

    @classmethod
    def prepare_rep(cls, model, device, **options):
        return NoisyRep(model)


@hookimpl
def register_backends(register):
    register(BackendSpec(name="noisy", summary="reference plus 0.5", target="fakeplug_noisy:NoisyBackend",
                         priority=-5))
"""


def test_verify_mismatch_exits_1(plugin_site, tiny_model):
    install_fake_plugin(plugin_site, "noisy-plugin", "noisy", "fakeplug_noisy", NOISY)
    r = run_cli("verify", tiny_model, "--backends", "reference,noisy", "--random-inputs")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "0.5" in r.stdout and "differ" in r.stderr


def test_broken_plugins_are_shown_and_the_rest_works(plugin_site, tiny_model):
    install_fake_plugin(plugin_site, "broken-import", "brokenimport", "fakeplug_bi", "raise ImportError('no framework here')\n")
    install_fake_plugin(plugin_site, "broken-hook", "brokenhook", "fakeplug_bh", """
        from onnxhub import hookimpl
        @hookimpl
        def register_backends(register):
            raise ValueError('hook exploded')
    """)
    r = run_cli("plugins", "--json")
    assert r.returncode == 0, r.stderr
    rows = {p["name"]: p for p in json.loads(r.stdout)}
    assert set(rows["brokenimport"]) == {"name", "distribution", "version", "hooks", "status", "error"}
    assert rows["brokenimport"]["status"] == "broken" and "no framework here" in rows["brokenimport"]["error"]
    assert rows["brokenhook"]["status"] == "broken" and "hook exploded" in rows["brokenhook"]["error"]
    assert rows["brokenhook"]["distribution"] == "broken-hook" and rows["brokenhook"]["version"] == "1.0"
    assert rows["reference"]["status"] == "ok"
    assert run_cli("list-backends").returncode == 0
    r = run_cli("run", tiny_model, "--random-inputs")
    assert r.returncode == 0, r.stderr


def test_default_backend_is_highest_priority_ready(plugin_site, tiny_model):
    install_fake_plugin(plugin_site, "noisy-plugin", "noisy", "fakeplug_noisy", NOISY)
    r = run_cli("run", tiny_model, "--random-inputs", "--json", env={"ONNXHUB_PLUGINS": "noisy"})
    assert json.loads(r.stdout)["backend"] != "noisy"


def test_doctor_reports_plugins(cli):
    r = cli("doctor")
    assert r.returncode == 0, r.stderr
    assert "backend reference [reference]: ok" in r.stdout


def test_version(cli):
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("onnxhub ")


def test_help_teaches_each_command(cli):
    for verb in ("run", "verify", "import", "export", "convert", "test-backend", "runtime", "doctor"):
        r = cli(verb, "--help")
        assert r.returncode == 0 and "usage: onnxhub" in r.stdout, verb


def test_model_with_int_and_bool_inputs(cli, tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Cast", ["flag"], ["f"], to=TensorProto.INT64), helper.make_node("Add", ["n", "f"], ["y"])],
        "g",
        [helper.make_tensor_value_info("n", TensorProto.INT64, [3]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, [3])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [3])],
    )
    path = tmp_path / "ints.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    r = cli("run", path, "--random-inputs", "--seed", "3", "--backend", "reference", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outputs"][0]["dtype"] == "int64"


def test_generated_cli_reference_has_every_verb():
    from onnxhub.cli.reference import markdown, verbs

    text = markdown()
    names = verbs()
    assert {"run", "verify", "test-backend", "runtime install", "new-plugin", "doctor"} <= set(names)
    for verb in names:
        assert f"## `onnxhub {verb}`" in text, verb
