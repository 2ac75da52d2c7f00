import json
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import REPO, install_fake_plugin, run_cli


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
        "for argv in (['--help'], ['run', '--help'], ['test-backend', '--help'], ['runtime', 'install', '--help'],"
        " ['doctor', '--help']):\n"
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


def test_verify_measures_like_convert_verify(plugin_site, tiny_model):
    # "max rel diff" was element-wise in verify and scaled in convert --verify, with atol 1e-5 vs 1e-4 (#27)
    import onnx

    from onnxhub.backend.reference import ReferenceBackend
    from onnxhub.cli.main import build_parser
    from onnxhub.conversion import ATOL, RTOL
    from onnxhub.inputs import random_inputs

    install_fake_plugin(plugin_site, "noisy-plugin", "noisy", "fakeplug_noisy", NOISY)
    r = run_cli("verify", tiny_model, "--backends", "reference,noisy", "--random-inputs", "--seed", "3", "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert (report["rtol"], report["atol"]) == (RTOL, ATOL)
    model = onnx.load(str(tiny_model))
    (want,) = ReferenceBackend.prepare(model).run(list(random_inputs(model, {}, seed=3).values()))
    row = report["outputs"][0]
    assert row["max_abs"] == pytest.approx(0.5) and row["scale"] == pytest.approx(float(np.abs(want).max()))
    assert row["max_rel"] == pytest.approx(0.5 / np.abs(want).max())  # relative to the output's magnitude
    parser = build_parser()
    for verb in (["verify", "m.onnx", "--backends", "a,b"], ["convert", "f", "--from", "a", "--to", "b", "-o", "d"]):
        args = parser.parse_args(verb)
        assert (args.rtol, args.atol) == (RTOL, ATOL)


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


def test_doctor_names_the_runtimes_not_installed(tmp_path):
    # issue #27: RUNTIME-MISSING lines used to end in a bare "no problems found"
    r = run_cli("doctor", env={"ONNXHUB_HOME": str(tmp_path / "empty-home")})
    assert r.returncode == 0, r.stdout + r.stderr  # an optional download is not a problem
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("no problems found; ") and "runtime(s) not installed (" in last, last
    assert last.endswith(": onnxhub runtime install NAME")


def test_doctor_json(tmp_path):
    r = run_cli("doctor", "--json", env={"ONNXHUB_HOME": str(tmp_path / "empty-home")})
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(report) == {"onnxhub", "python", "executable", "versions", "plugins", "adapters", "runtimes",
                           "problems", "ok"}
    assert report["ok"] is True and report["problems"] == [] and "onnx" in report["versions"]
    ref = next(p for p in report["plugins"] if p["name"] == "reference")
    assert set(ref) == {"name", "distribution", "version", "hooks", "status", "error", "heavy"}
    assert ref["heavy"] is None
    row = next(a for a in report["adapters"] if a["kind"] == "backend" and a["name"] == "reference")
    assert row == {"kind": "backend", "name": "reference", "plugin": "reference", "runtime": None,
                   "status": "ready", "reason": None}
    assert all(set(rt) == {"name", "plugin", "python", "status", "path"} for rt in report["runtimes"])
    assert all(rt["status"] == "missing" for rt in report["runtimes"])


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


MISSPELT_TARGET = """
from onnxhub import hookimpl, BackendSpec, ExporterSpec


class Backend:
    pass


@hookimpl
def register_backends(register):
    register(BackendSpec(name="typo", summary="s", target="fakeplug_typo:Backnd"))
    register(BackendSpec(name="nomod", summary="s", target="fakeplug_nosuchmodule.backend:Backend"))
    register(BackendSpec(name="fine", summary="s", target="fakeplug_typo:Backend"))
"""

HEAVY_PLUGIN = """
import numpy  # a plugin module must not do this
from onnxhub import hookimpl, BackendSpec


@hookimpl
def register_backends(register):
    register(BackendSpec(name="heavy", summary="s", target="onnxhub.backend.reference:ReferenceBackend"))
"""


def test_doctor_reports_every_target_that_does_not_resolve(plugin_site):
    install_fake_plugin(plugin_site, "fakeplug-typo", "typo", "fakeplug_typo", MISSPELT_TARGET)
    r = run_cli("doctor", env={"ONNXHUB_PLUGINS": "typo"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "backend typo [typo]: BROKEN: target fakeplug_typo:Backnd does not resolve: AttributeError" in r.stdout
    assert "backend nomod [typo]: BROKEN: target fakeplug_nosuchmodule.backend:Backend does not resolve: " \
           "ModuleNotFoundError" in r.stdout
    assert "backend fine [typo]: ok" in r.stdout
    assert "2 problem(s) found" in r.stdout and r.stderr.startswith("onnxhub: error: doctor found 2 problem(s)")
    r = run_cli("doctor", "--json", env={"ONNXHUB_PLUGINS": "typo"})
    assert r.returncode == 1 and r.stderr.startswith("onnxhub: error: doctor found 2 problem(s)")
    report = json.loads(r.stdout)
    assert report["ok"] is False and len(report["problems"]) == 2
    typo = next(a for a in report["adapters"] if a["name"] == "typo")
    assert typo["status"] == "broken" and "does not resolve: AttributeError" in typo["reason"]


def test_doctor_reports_heavy_imports_per_plugin(plugin_site):
    install_fake_plugin(plugin_site, "fakeplug-heavy", "heavy", "fakeplug_heavy", HEAVY_PLUGIN)
    r = run_cli("doctor", env={"ONNXHUB_PLUGINS": "heavy"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "plugin heavy: HEAVY: importing it pulled in numpy" in r.stdout
    assert "backend heavy [heavy]: ok" in r.stdout
    heavy_lines = [line for line in r.stdout.splitlines() if "HEAVY" in line]
    assert len(heavy_lines) == 1, heavy_lines  # the built-ins and the other plugins stay light


def test_doctor_checks_the_installed_plugins_are_light():
    from onnxhub.cli.commands import heavy_imports

    found = heavy_imports(["reference"])
    assert found == {"reference": []}


def test_exit_codes_have_one_truth(cli):
    import re

    from onnxhub.cli.main import EXIT_CODES, exit_codes_sentence

    assert [code for code, _ in EXIT_CODES] == [0, 1, 2, 3, 130, 143]
    docs = (REPO / "docs" / "cli.md").read_text()
    paragraph = next(p for p in docs.split("\n\n") if p.startswith("Exit codes:"))
    assert " ".join(paragraph.split()) == exit_codes_sentence()
    help_text = cli("--help").stdout
    assert " ".join(help_text.split("Exit codes:")[1].split("Environment:")[0].split()) == \
        exit_codes_sentence()[len("Exit codes: "):]
    assert re.search(r"\b3 internal error", " ".join(help_text.split()))


def test_api_page_lists_model_opset():
    api = (REPO / "docs" / "api.md").read_text()
    assert "- model_opset" in api and "`model_opset(model" in api
    from onnxhub.scaffold import BACKEND

    assert "model_opset" in BACKEND  # what the scaffold imports is documented


def test_converter_options_are_parsed_once_and_checked(tiny_model, tmp_path):
    """--input-shape arrives as {name: dims}; import takes it and --option too; bad dims are usage errors."""
    import argparse

    from onnxhub.cli.commands import converter_options

    args = argparse.Namespace(input_shape=["x=2,4"], option=["name=\"tiny\"", "level=3"], static_batch=True)
    assert converter_options(args) == {"input_shapes": {"x": [2, 4]}, "name": "tiny", "level": 3,
                                       "static_batch": True}
    for bad in ("x=-1,4", "x=1,9223372036854775808", "x=0,4"):
        r = run_cli("import", tiny_model, "--to", "nosuch", "-o", tmp_path / "o", "--input-shape", bad)
        assert r.returncode == 2 and "--input-shape x: dimensions must be between 1 and" in r.stderr, r.stderr
    r = run_cli("import", tiny_model, "--to", "nosuch", "-o", tmp_path / "o", "--option", "novalue")
    assert r.returncode == 2 and "--option 'novalue' must look like KEY=VALUE" in r.stderr
