"""Nothing the user owns is ever lost: --force replaces only onnxhub's own output of the same kind,
never an input, a device or a link; a killed write leaves nothing behind (issue 16, "Data loss")."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import install_fake_plugin, make_model

MARKER = ".onnxhub-output.json"  # onnxhub.modelio.MARKER, spelled out: the name is part of the contract

# A toy framework: its "files" are ONNX models; its import writes the op types to graph.txt.
TOY = """
import onnx
from onnxhub import ExporterSpec, ImporterSpec, hookimpl


class Exporter:
    def export(self, files, opset=17, **options):
        return onnx.load(files[0])


class Importer:
    def import_model(self, model, output_dir, **options):
        (output_dir / "graph.txt").write_text(" ".join(n.op_type for n in model.graph.node))
        return [output_dir / "graph.txt"]


EXPORTER, IMPORTER = Exporter(), Importer()


@hookimpl
def register_exporters(register):
    register(ExporterSpec(name="toy", summary="toy", target="fakeplug_dl:EXPORTER", patterns=("*.toy",)))


@hookimpl
def register_importers(register):
    register(ImporterSpec(name="toy", summary="toy", target="fakeplug_dl:IMPORTER"))
"""


@pytest.fixture
def toy(plugin_site):
    install_fake_plugin(plugin_site, "toy-dl", "toydl", "fakeplug_dl", TOY)
    return plugin_site


@pytest.fixture
def work(tmp_path, toy):
    """A user's folder: a model, an input array, notes; the CLI runs in it."""
    folder = tmp_path / "work"
    folder.mkdir()
    make_model(folder / "model.onnx")
    make_model(folder / "net.toy")
    (folder / "notes.txt").write_text("mine")
    np.save(folder / "x.npy", np.ones((2, 4), np.float32))
    return folder


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging(folder: Path) -> list[str]:
    """Hidden entries of a user's folder (it has none of its own): what a write left beside its target."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def one_line_usage_error(r, *fragments):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], r.stderr


def relu_only(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


# -- folders: --force never deletes what onnxhub did not write ---------------------------
@pytest.mark.parametrize("out", [".", "./"])
def test_import_force_into_the_current_folder_is_refused(cli, work, out):
    before = snapshot(work)
    r = cli("import", "model.onnx", "--to", "toy", "-o", out, "--force", cwd=work)
    one_line_usage_error(r, "current folder")
    assert snapshot(work) == before and staging(work) == []


def test_new_plugin_force_into_the_current_folder_is_refused(cli, work):
    before = snapshot(work)
    r = cli("new-plugin", "myrt", "-o", ".", "--force", cwd=work)
    one_line_usage_error(r, "current folder")
    assert snapshot(work) == before and staging(work) == []


def test_folder_holding_the_current_folder_is_refused(cli, work):
    (work / "sub").mkdir()
    before = snapshot(work)
    r = cli("import", work / "model.onnx", "--to", "toy", "-o", "..", "--force", cwd=work / "sub")
    one_line_usage_error(r, "current folder")
    assert snapshot(work) == before


def test_folder_holding_the_input_is_refused(cli, work, tmp_path):
    before = snapshot(work)
    r = cli("import", work / "model.onnx", "--to", "toy", "-o", work, "--force", cwd=tmp_path)
    one_line_usage_error(r, "input")
    assert snapshot(work) == before and staging(tmp_path) == []


def test_the_input_itself_as_output_folder_is_refused(cli, work):
    before = snapshot(work)
    r = cli("import", "model.onnx", "--to", "toy", "-o", "model.onnx", "--force", cwd=work)
    one_line_usage_error(r, "input")
    assert snapshot(work) == before


def test_convert_force_into_the_current_folder_is_refused(cli, work):
    before = snapshot(work)
    r = cli("convert", "net.toy", "--from", "toy", "--to", "toy", "-o", ".", "--force", cwd=work)
    one_line_usage_error(r, "current folder")
    assert snapshot(work) == before


@pytest.mark.parametrize("verb", ["import", "new-plugin"])
def test_force_keeps_a_folder_onnxhub_did_not_write(cli, work, verb):
    theirs = work / "theirs"
    theirs.mkdir()
    (theirs / "thesis.tex").write_text("years of work")
    args = ("import", "model.onnx", "--to", "toy") if verb == "import" else ("new-plugin", "myrt")
    r = cli(*args, "-o", "theirs", "--force", cwd=work)
    one_line_usage_error(r, "not written by onnxhub")
    assert snapshot(theirs) == {"thesis.tex": b"years of work"} and staging(work) == []


def test_force_replaces_its_own_earlier_import_and_keeps_nothing_old(cli, work):
    assert cli("import", "model.onnx", "--to", "toy", "-o", "out", cwd=work).returncode == 0
    assert (work / "out" / "graph.txt").read_text() == "MatMul Add Relu"
    marker = json.loads((work / "out" / MARKER).read_text())
    assert marker["kind"] == "import:toy" and marker["files"] == ["graph.txt"]
    relu_only(work / "relu.onnx")
    r = cli("import", "relu.onnx", "--to", "toy", "-o", "out", "--force", cwd=work)
    assert r.returncode == 0, r.stderr
    assert snapshot(work / "out") == {MARKER: (work / "out" / MARKER).read_bytes(), "graph.txt": b"Relu"}
    assert staging(work) == []
    # convert writes the same kind of folder as import to the same framework
    r = cli("convert", "net.toy", "--from", "toy", "--to", "toy", "-o", "out", "--force", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "out" / "graph.txt").read_text() == "MatMul Add Relu"


def test_force_replaces_its_own_new_plugin_project(cli, work):
    assert cli("new-plugin", "myrt", "-o", "proj", cwd=work).returncode == 0
    r = cli("new-plugin", "myrt", "--kind", "importer", "-o", "proj", "--force", cwd=work)
    assert r.returncode == 0, r.stderr
    assert not (work / "proj" / "src" / "onnxhub_myrt" / "backend.py").exists()
    assert (work / "proj" / "src" / "onnxhub_myrt" / "importer.py").exists() and staging(work) == []


def test_force_keeps_its_own_output_once_the_user_added_a_file(cli, work):
    assert cli("import", "model.onnx", "--to", "toy", "-o", "out", cwd=work).returncode == 0
    (work / "out" / "my-notes.md").write_text("mine")
    before = snapshot(work / "out")
    r = cli("import", "model.onnx", "--to", "toy", "-o", "out", "--force", cwd=work)
    one_line_usage_error(r, "my-notes.md")
    assert snapshot(work / "out") == before


def test_force_keeps_output_of_another_kind(cli, work):
    assert cli("new-plugin", "myrt", "-o", "proj", cwd=work).returncode == 0
    before = snapshot(work / "proj")
    r = cli("import", "model.onnx", "--to", "toy", "-o", "proj", "--force", cwd=work)
    one_line_usage_error(r, "new-plugin")
    assert snapshot(work / "proj") == before


def test_symlinked_output_folder_is_refused(cli, work):
    assert cli("import", "model.onnx", "--to", "toy", "-o", "out", cwd=work).returncode == 0
    os.symlink("out", work / "link")
    r = cli("import", "model.onnx", "--to", "toy", "-o", "link", "--force", cwd=work)
    one_line_usage_error(r, "symbolic link")
    assert (work / "link").is_symlink()


# -- files: never an input, a device or a link ---------------------------------------------
def test_run_force_refuses_to_overwrite_its_model(cli, work):
    before = (work / "model.onnx").read_bytes()
    r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", "model.onnx", "--force", cwd=work)
    one_line_usage_error(r, "input")
    assert (work / "model.onnx").read_bytes() == before


def test_run_force_refuses_to_overwrite_an_input_array(cli, work):
    before = (work / "x.npy").read_bytes()
    r = cli("run", "model.onnx", "-i", "x=x.npy", "--backend", "reference", "-o", "x.npy", "--force", cwd=work)
    one_line_usage_error(r, "input")
    assert (work / "x.npy").read_bytes() == before


def test_export_force_refuses_to_overwrite_its_input(cli, work):
    before = (work / "net.toy").read_bytes()
    r = cli("export", "net.toy", "-o", "net.toy", "--force", cwd=work)
    one_line_usage_error(r, "input")
    assert (work / "net.toy").read_bytes() == before
    os.link(work / "net.toy", work / "hard.onnx")  # the same file under another name
    r = cli("export", "net.toy", "-o", "hard.onnx", "--force", cwd=work)
    one_line_usage_error(r, "input")
    assert (work / "net.toy").read_bytes() == before and staging(work) == []


def test_a_fifo_is_not_replaced_by_a_regular_file(cli, work):
    fifo = work / "out.npz"
    os.mkfifo(fifo)
    r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", "out.npz", "--force", cwd=work)
    one_line_usage_error(r, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and staging(work) == []


def test_dev_null_is_refused(cli, work):
    # Only the refusal is checked: on code that replaced it, this would clobber /dev/null as root.
    r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", "/dev/null", "--force", cwd=work)
    one_line_usage_error(r, "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("dangling", [False, True])
def test_symlinked_output_file_is_refused(cli, work, dangling):
    target = work / ("nowhere.npz" if dangling else "notes.txt")
    os.symlink(target.name, work / "link.npz")
    r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", "link.npz", "--force", cwd=work)
    one_line_usage_error(r, "symbolic link")
    assert (work / "link.npz").is_symlink() and os.readlink(work / "link.npz") == target.name
    assert not (work / "nowhere.npz").exists() if dangling else target.read_text() == "mine"


# -- long names -----------------------------------------------------------------------------
def test_a_250_character_output_name_works(cli, work):
    name = "a" * 246 + ".npz"
    r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", name, cwd=work)
    assert r.returncode == 0, r.stderr
    assert np.load(work / name)["y"].shape == (1, 3) and staging(work) == []
    folder = "b" * 250
    r = cli("import", "model.onnx", "--to", "toy", "-o", folder, cwd=work)
    assert r.returncode == 0, r.stderr
    r = cli("import", "model.onnx", "--to", "toy", "-o", folder, "--force", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / folder / "graph.txt").exists() and staging(work) == []


# -- killed mid-write -----------------------------------------------------------------------
def start_slow(work: Path, *args) -> subprocess.Popen:
    """The CLI with its write held (test hook) once the staged output is complete; returns when staging exists."""
    env = dict(os.environ, ONNXHUB_TEST_WRITE_DELAY="60")
    proc = subprocess.Popen([sys.executable, "-m", "onnxhub", *map(str, args)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not staging(work):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no staging entry appeared: {proc.communicate()}")
        time.sleep(0.05)
    time.sleep(0.3)  # let it reach the held point
    return proc


@pytest.mark.parametrize("verb", ["export", "import", "run"])
def test_sigterm_mid_write_cleans_up_and_exits_143(work, verb):
    args = {"export": ("export", "net.toy", "-o", "out.onnx"),
            "import": ("import", "model.onnx", "--to", "toy", "-o", "out"),
            "run": ("run", "model.onnx", "--random-inputs", "--dim", "N=2", "--backend", "reference", "-o", "out.npz")}[verb]
    before = snapshot(work)
    proc = start_slow(work, *args)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "onnxhub: error: terminated" and "Traceback" not in err
    assert staging(work) == [] and snapshot(work) == before
    assert not any((work / n).exists() for n in ("out.onnx", "out", "out.npz"))


def test_sigterm_while_replacing_keeps_the_old_output(cli, work):
    assert cli("import", "model.onnx", "--to", "toy", "-o", "out", cwd=work).returncode == 0
    before = snapshot(work)
    relu_only(work / "relu.onnx")
    proc = start_slow(work, "import", "relu.onnx", "--to", "toy", "-o", "out", "--force")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    (work / "relu.onnx").unlink()
    assert snapshot(work) == before and staging(work) == []


def test_sigkill_leftovers_are_swept_by_the_next_write(cli, work):
    for args in (("export", "net.toy", "-o", "out.onnx"), ("import", "model.onnx", "--to", "toy", "-o", "out")):
        proc = start_slow(work, *args)
        proc.kill()
        proc.communicate(timeout=60)
        assert staging(work)  # a SIGKILL cannot be cleaned up after ...
        r = cli("run", "model.onnx", "--random-inputs", "--backend", "reference", "-o", "y.npz", "--force", cwd=work)
        assert r.returncode == 0, r.stderr
        assert staging(work) == []  # ... but the next write to the folder sweeps it
