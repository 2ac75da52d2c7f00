"""`onnxhub convert`: --verify, --to onnx, inventories (folders, globs), reports, resuming, a real kill, Dask.

A toy framework stands in for a real one: its "files" (``*.toy``) are ONNX models, its
exporter loads them, its importer writes them back, and both run files with
``onnx.reference`` (the toy's "own runtime"). File names steer misbehaviour: ``drift*``
runs 1 % off on the importer side, ``crash*`` kills the worker process that exports it,
``broken*`` is not a model at all, ``norun*`` (a model file, or the output folder) cannot be
run (as a missing runtime, or a framework refusing the input shape, would refuse).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import install_fake_plugin, make_model

TOY = """
import os
from pathlib import Path

import onnx
from onnxhub import ExporterSpec, ImporterSpec, hookimpl
from onnxhub.errors import UsageError


def _run(path, inputs):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(onnx.load(str(path))).run(None, dict(inputs))


class Exporter:
    def export(self, files, opset=17, **options):
        if Path(files[0]).name.startswith("crash"):
            os._exit(9)  # a framework dying under the converter
        return onnx.load(files[0])

    def run_files(self, files, inputs):
        if Path(files[0]).name.startswith("norun"):
            raise UsageError("runtime 'toyrt' is not installed: onnxhub runtime install toyrt")
        return _run(files[0], inputs)


class Importer:
    def import_model(self, model, output_dir, **options):
        onnx.save(model, str(output_dir / "model.toy"))
        return [output_dir / "model.toy"]

    def run_files(self, files, inputs):
        if Path(files[0]).parent.name.startswith("norun"):
            raise UsageError("the toy framework rejects input 'x' of shape (1, 4)")
        outs = _run(files[0], inputs)
        if Path(files[0]).parent.name.startswith("drift"):
            outs = [o * 1.01 for o in outs]
        return outs


class Mute:  # converts, cannot run anything
    def export(self, files, opset=17, **options):
        return onnx.load(files[0])


EXPORTER, IMPORTER, MUTE = Exporter(), Importer(), Mute()


@hookimpl
def register_exporters(register):
    register(ExporterSpec(name="toy", summary="toy", target="fakeplug_toyrun:EXPORTER", patterns=("*.toy",)))
    register(ExporterSpec(name="mute", summary="mute", target="fakeplug_toyrun:MUTE", patterns=("*.mute",)))


@hookimpl
def register_importers(register):
    register(ImporterSpec(name="toy", summary="toy", target="fakeplug_toyrun:IMPORTER"))
"""


@pytest.fixture
def toy(plugin_site):
    install_fake_plugin(plugin_site, "toy-run", "toyrun", "fakeplug_toyrun", TOY)
    return plugin_site


def inventory(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.startswith("broken"):
            (folder / f"{name}.toy").write_bytes(b"not a model")
        else:
            make_model(folder / f"{name}.toy")
    return folder


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def statuses(out: Path) -> dict:
    return {m["name"]: m["status"] for m in report(out)["models"]}


# -- one model ---------------------------------------------------------------------------
def test_verify_one_model_prints_differences_per_output(toy, cli, tmp_path):
    make_model(tmp_path / "net.toy")
    r = cli("convert", tmp_path / "net.toy", "--from", "toy", "--to", "toy", "-o", tmp_path / "out", "--verify",
            "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    (row,) = result["differences"]
    assert row["output"] == "y" and row["source"] == "toy" and row["target"] == "toy"
    assert row["max_abs"] == 0 and row["ok"] is True and result["ok"] is True
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".onnxhub-output.json", "model.toy"]


@pytest.mark.parametrize("side", ["source", "target"])
def test_verify_that_cannot_run_keeps_nothing_and_the_rerun_works(toy, cli, tmp_path, side):
    src = tmp_path / ("norun.toy" if side == "source" else "m.toy")
    make_model(src)
    out = tmp_path / ("out" if side == "source" else "norun-out")
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--verify")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert ("not installed" if side == "source" else "rejects input") in r.stderr
    assert not out.exists()  # no unverified output left behind
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out)  # the corrected rerun
    assert r.returncode == 0, r.stderr
    assert (out / "model.toy").is_file()


def test_verify_beyond_tolerance_exits_1_with_the_table(toy, cli, tmp_path):
    make_model(tmp_path / "net.toy")
    out = tmp_path / "drift-out"  # the toy importer's files in a drift* folder run 1 % off
    r = cli("convert", tmp_path / "net.toy", "--from", "toy", "--to", "toy", "-o", out, "--verify")
    assert r.returncode == 1, r.stderr
    assert "beyond rtol=0.001 atol=0.0001" in r.stdout and "False" in r.stdout
    assert r.stderr.strip().splitlines() == ["onnxhub: error: outputs differ beyond rtol=0.001 atol=0.0001"]
    r = cli("convert", tmp_path / "net.toy", "--from", "toy", "--to", "toy", "-o", out, "--verify", "--force",
            "--rtol", "0.05")
    assert r.returncode == 0, r.stderr  # looser tolerance: the same 1 % passes


def test_to_onnx_writes_the_onnx_file_and_verifies_on_onnx_runtime(toy, cli, tmp_path):
    pytest.importorskip("onnxhub_onnxruntime")
    make_model(tmp_path / "net.toy")
    r = cli("convert", tmp_path / "net.toy", "--from", "toy", "--to", "onnx", "-o", tmp_path / "out", "--verify",
            "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert [Path(p).name for p in result["written"]] == ["tiny.onnx"]
    assert result["differences"][0]["target"] == "onnxruntime" and result["differences"][0]["ok"]
    marker = json.loads((tmp_path / "out" / ".onnxhub-output.json").read_text())
    assert marker["kind"] == "export:toy" and marker["files"] == ["tiny.onnx"]


@pytest.mark.parametrize("argv, fragment", [
    (["--from", "mute", "--to", "toy", "--verify"], "'mute' exporter to run its files"),
    (["--from", "toy", "--to", "toy", "--verify", "--rtol", "-1"], "--rtol must be a finite number >= 0"),
    (["--from", "toy", "--to", "toy", "-j", "0"], "-j must be 1 or more"),
    (["--from", "toy", "--to", "toy", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
    (["--from", "toy", "--to", "nothing"], "nothing"),
])
def test_bad_requests_are_one_line_and_write_nothing(toy, cli, tmp_path, argv, fragment):
    make_model(tmp_path / "net.toy")
    (tmp_path / "net.mute").write_bytes((tmp_path / "net.toy").read_bytes())
    src = tmp_path / ("net.mute" if "mute" in argv else "net.toy")
    r = cli("convert", src, *argv, "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("onnxhub: error: ") and fragment in line
    assert not (tmp_path / "out").exists()


# -- inventories -------------------------------------------------------------------------
def test_a_folder_converts_each_model_into_its_own_folder_with_a_report(toy, cli, tmp_path):
    src = inventory(tmp_path / "zoo", ["a", "b", "broken", "crash"])
    inventory(tmp_path / "zoo" / "sub", ["a", "c"])  # a second "a": named after its folder
    out = tmp_path / "out"
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "-j", "2", "--verify")
    assert r.returncode == 1, r.stderr  # two models failed; the others converted anyway
    assert statuses(out) == {"a": "ok", "b": "ok", "broken": "failed", "c": "ok", "crash": "failed", "sub_a": "ok"}
    rep = report(out)
    assert (rep["total"], rep["ok"], rep["failed"], rep["mismatch"]) == (6, 4, 2, 0)
    rows = {m["name"]: m for m in rep["models"]}
    assert rows["broken"]["error"].startswith("DecodeError: ") and "died" in rows["crash"]["error"]
    assert rows["a"]["differences"][0]["max_abs"] == 0 and rows["a"]["seconds"] > 0
    assert rows["sub_a"]["files"] == [str(src / "sub" / "a.toy")]
    for name in ("a", "b", "c", "sub_a"):
        assert (out / name / "model.toy").is_file() and (out / name / ".onnxhub-output.json").is_file()
    assert not (out / "broken").exists() and not (out / "crash").exists()
    md = (out / "report.md").read_text()
    assert f"| crash | `{src / 'crash.toy'}` | failed |" in md and "6 models: 4 ok, 0 mismatch, 2 failed" in md
    assert "onnxhub: error: 2 of 6 models did not convert cleanly" in r.stderr


def test_models_named_like_the_inventorys_own_files_get_other_names(toy, cli, tmp_path):
    # "report.json" would take the report's path, "inventory" would overwrite the state folder's inventory.json
    src = inventory(tmp_path / "zoo", ["report.json", "report.md", "inventory", "a"])
    out = tmp_path / "out"
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out)
    assert r.returncode == 0, r.stderr
    assert statuses(out) == {"a": "ok", "inventory-2": "ok", "report.json-2": "ok", "report.md-2": "ok"}
    assert json.loads((out / ".onnxhub-inventory" / "inventory.json").read_text())["kind"] == "inventory"
    assert (out / "report.json").is_file() and (out / "report.md").is_file()
    assert (out / "report.json-2" / "model.toy").is_file()
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--json")  # and the rerun resumes all four
    assert r.returncode == 0 and json.loads(r.stdout)["resumed"] == 4, r.stderr


def test_models_of_one_name_in_several_folders_are_each_named_after_their_folder(toy, cli, tmp_path):
    # zoo/resnet/model.toy and zoo/vgg/model.toy were "model" and "vgg_model": the first lost its folder (#27)
    for sub in ("resnet", "vgg"):
        inventory(tmp_path / "zoo" / sub, ["model"])
    inventory(tmp_path / "zoo" / "vgg", ["solo"])
    out = tmp_path / "out"
    r = cli("convert", tmp_path / "zoo", "--from", "toy", "--to", "toy", "-o", out)
    assert r.returncode == 0, r.stderr
    assert sorted(statuses(out)) == ["resnet_model", "solo", "vgg_model"]


def test_linked_model_folders_are_searched_once(toy, cli, tmp_path):
    # a zoo of links to where the models lie was "no model found" (#27); a link to a parent must not loop
    inventory(tmp_path / "store" / "a", ["m1"])
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "a").symlink_to(tmp_path / "store" / "a", target_is_directory=True)
    (zoo / "again").symlink_to(tmp_path / "store" / "a", target_is_directory=True)  # the same folder twice
    (tmp_path / "store" / "a" / "up").symlink_to(zoo, target_is_directory=True)  # a cycle
    out = tmp_path / "out"
    r = cli("convert", zoo, "--from", "toy", "--to", "toy", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    assert [m["name"] for m in json.loads(r.stdout)["models"]] == ["m1"]


def test_a_rerun_skips_finished_models_and_redoes_the_rest(toy, cli, tmp_path):
    src = inventory(tmp_path / "zoo", ["a", "b", "broken"])
    out = tmp_path / "out"
    assert cli("convert", src, "--from", "toy", "--to", "toy", "-o", out).returncode == 1
    record = out / ".onnxhub-inventory" / "a.json"
    before = record.stat().st_mtime_ns, (out / "a" / "model.toy").stat().st_mtime_ns
    make_model(src / "broken.toy")  # the user fixes the bad model
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert {m["name"]: m["resumed"] for m in rep["models"]} == {"a": True, "b": True, "broken": False}
    assert (record.stat().st_mtime_ns, (out / "a" / "model.toy").stat().st_mtime_ns) == before
    # asking for --verify now: converted earlier without it, so converted (and verified) again
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--verify", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["resumed"] == 0
    # --force redoes everything
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--force", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["resumed"] == 0 and record.stat().st_mtime_ns != before[0]


def test_globs_and_several_files_are_inventories_too(toy, cli, tmp_path):
    src = inventory(tmp_path / "zoo", ["a", "b", "c"])
    r = cli("convert", str(src / "[ab].toy"), "--from", "toy", "--to", "toy", "-o", tmp_path / "g")
    assert r.returncode == 0, r.stderr
    assert sorted(statuses(tmp_path / "g")) == ["a", "b"]
    r = cli("convert", src / "a.toy", src / "c.toy", "--from", "toy", "--to", "toy", "-o", tmp_path / "f")
    assert r.returncode == 0, r.stderr
    assert sorted(statuses(tmp_path / "f")) == ["a", "c"]
    r = cli("convert", str(src / "z*.toy"), "--from", "toy", "--to", "toy", "-o", tmp_path / "none")
    assert r.returncode == 2 and "no such file, folder or matching glob" in r.stderr


def test_an_inventory_never_writes_into_a_folder_it_did_not_make(toy, cli, tmp_path):
    src = inventory(tmp_path / "zoo", ["a", "b"])
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    for extra in ([], ["--force"]):
        r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", theirs, *extra)
        assert r.returncode == 2 and "onnxhub did not write" in r.stderr
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", src)  # the input folder itself
    assert r.returncode == 2 and r.stderr.startswith("onnxhub: error: ")
    # an output folder inside the input folder is not read as input on the next run
    assert cli("convert", src, "--from", "toy", "--to", "toy", "-o", src / "out").returncode == 0
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", src / "out", "--json")
    assert r.returncode == 0 and sorted(m["name"] for m in json.loads(r.stdout)["models"]) == ["a", "b"]


def _wait_for_records(folder: Path, count: int, proc, timeout: float = 300) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        found = [f for f in found if f.name != "inventory.json"]
        if len(found) >= count:
            return found
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError("no model finished in time")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_resumes_without_redoing_finished_models(toy, tmp_path, sig):
    names = [f"m{i:02d}" for i in range(8)]
    src = inventory(tmp_path / "zoo", names)
    out = tmp_path / "out"
    env = dict(os.environ, ONNXHUB_TEST_WRITE_DELAY="0.4")  # each model's write pauses: the kill lands mid-run
    argv = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", "toy", "--to", "toy", "-o", str(out)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_records(out / ".onnxhub-inventory", 2, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 143), err
    time.sleep(1.5)  # an orphaned worker notices its hub is gone within 0.5 s
    done = {f.stem: f.stat().st_mtime_ns for f in (out / ".onnxhub-inventory").glob("m*.json")}
    assert 2 <= len(done) < len(names)
    assert not (out / "report.json").exists()
    r = subprocess.run(argv[:-2] + ["-o", str(out), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"] == len(names) and rep["resumed"] == len(done)
    assert {m["name"] for m in rep["models"] if m["resumed"]} == set(done)
    for name, mtime in done.items():  # finished models were not converted again
        assert (out / ".onnxhub-inventory" / f"{name}.json").stat().st_mtime_ns == mtime
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".onnxhub-inventory"]
    assert leftovers == []  # a killed worker's staging folder was swept
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(names + ["report.json",
                                                                                                  "report.md"])


def _distributed():
    """``distributed``; skipped where it is missing, failed in CI (core's test extra installs it)."""
    try:
        import distributed
    except ImportError:
        if os.environ.get("ONNXHUB_REQUIRE_RUNTIMES") == "1":
            pytest.fail("dask[distributed] is not installed (core's test extra installs it)")
        pytest.skip("dask[distributed] is not installed: pip install 'onnxhub[dask]'")
    return distributed


def test_dask_local_cluster_converts_an_inventory(toy, cli, tmp_path):
    """A real multi-process ``distributed.LocalCluster`` (two worker processes) does the work."""
    _distributed()
    src = inventory(tmp_path / "zoo", ["a", "b", "c", "broken"])
    out = tmp_path / "out"
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--executor", "dask", "-j", "2", "--verify",
            "--json")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    assert rep["executor"] == "dask" and statuses(out) == {"a": "ok", "b": "ok", "c": "ok", "broken": "failed"}
    pids = {json.loads((out / ".onnxhub-inventory" / f"{n}.json").read_text())["pid"] for n in "abc"}
    assert os.getpid() not in pids and len(pids) >= 1  # converted in the cluster's worker processes
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--executor", "dask", "-j", "2", "--json")
    assert json.loads(r.stdout)["resumed"] == 3  # resuming works the same through Dask


def test_dask_scheduler_address_sends_the_work_to_a_running_cluster(toy, cli, tmp_path):
    """``--scheduler`` with the address of a cluster started outside the command (as a real one would be)."""
    import logging

    distributed = _distributed()

    src = inventory(tmp_path / "zoo", ["a", "b"])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        worker_pids = set(distributed.Client(cluster).run(os.getpid).values())
        r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out", "--executor", "dask",
                "--scheduler", cluster.scheduler_address, "--json")
        assert r.returncode == 0, r.stderr
    pids = {json.loads((tmp_path / "out" / ".onnxhub-inventory" / f"{n}.json").read_text())["pid"] for n in "ab"}
    assert pids == worker_pids  # the running cluster's worker did the work
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out2", "--executor", "dask",
            "--scheduler", "tcp://127.0.0.1:9")  # nothing listens there
    assert r.returncode == 2 and r.stderr.startswith("onnxhub: error: cannot reach the Dask scheduler")


def test_help_and_listings_never_import_dask(cli):
    probe = ("import sys; from onnxhub.cli.main import main\n"
             "try:\n    main(['convert', '--help'])\nexcept SystemExit:\n    pass\n"
             "main(['list-exporters'])\n"
             "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--executor {local,dask}" in r.stdout and "--verify" in r.stdout


@pytest.mark.parametrize("speaks", ["nothing", "http"])
def test_dask_scheduler_that_is_not_dask_fails_within_bounds(toy, cli, tmp_path, speaks):
    """Something listens on the port but never speaks Dask: one line, exit 2, nothing written."""
    import socket
    import threading

    _distributed()
    src = inventory(tmp_path / "zoo", ["a", "b"])
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if speaks == "http":
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out", "--executor", "dask",
                "--scheduler", f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=300)
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("onnxhub: error: cannot reach the Dask scheduler") and r.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing was written: not even an empty inventory skeleton


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:0", "tcp://127.0.0.1:port",
                                     "http://127.0.0.1:8786", "127.0.0.1"])
def test_dask_scheduler_address_that_cannot_be_one_is_a_usage_error(toy, cli, tmp_path, address):
    src = inventory(tmp_path / "zoo", ["a", "b"])
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out", "--executor", "dask",
            "--scheduler", address, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("onnxhub: error: --scheduler") and r.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _wait_for_staging(out: Path, proc, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.is_dir() and any(p.name.endswith(".stage") for p in out.iterdir()):
            return
        assert proc.poll() is None, "the run ended before it could be stopped"
        time.sleep(0.02)
    raise AssertionError("no model's output was ever staged")


def test_sigterm_of_a_parallel_inventory_removes_its_workers_staging(toy, tmp_path):
    """The kill lands while a worker holds a staged model folder (the write pauses with it complete)."""
    src = inventory(tmp_path / "zoo", [f"m{i:02d}" for i in range(6)])
    out = tmp_path / "out"
    env = dict(os.environ, ONNXHUB_TEST_WRITE_DELAY="2", TMPDIR=str(tmp_path))
    argv = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", "toy", "--to", "toy", "-o", str(out),
            "-j", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_staging(out, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    staged = [p.name for folder in (out, out / ".onnxhub-inventory") if folder.is_dir() for p in folder.iterdir()
              if p.name.endswith((".stage", ".tmp"))]
    assert staged == []  # at the moment the hub exits, not at some later run
    assert list(tmp_path.glob("onnxhub-jobs-*")) == []


def test_job_folders_of_a_killed_hub_are_swept_at_the_next_start(toy, tmp_path):
    src = inventory(tmp_path / "zoo", ["a", "b", "c"])
    env = dict(os.environ, ONNXHUB_TEST_WRITE_DELAY="1", TMPDIR=str(tmp_path))
    argv = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", "toy", "--to", "toy", "-j", "2"]
    proc = subprocess.Popen(argv + ["-o", str(tmp_path / "out")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_staging(tmp_path / "out", proc)
        left = list(tmp_path.glob(f"onnxhub-jobs-{proc.pid}-*"))
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert len(left) == 1 and left[0].is_dir()  # what SIGKILL leaves behind
    keep = tmp_path / f"onnxhub-jobs-{os.getpid()}-keep"  # a live hub's (this test process): kept
    keep.mkdir()
    r = subprocess.run(argv + ["-o", str(tmp_path / "out2")], env=dict(env, ONNXHUB_TEST_WRITE_DELAY=""),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not left[0].exists() and keep.is_dir()


@pytest.mark.parametrize("existing", [False, True])
def test_a_dask_run_that_cannot_start_leaves_no_skeleton(toy, cli, tmp_path, existing):
    # Without the distributed package the run fails at once; it left an empty .onnxhub-inventory (#27 item 11)
    src = inventory(tmp_path / "zoo", ["a", "b"])
    blocker = tmp_path / "no-dask"
    blocker.mkdir()
    (blocker / "distributed.py").write_text("raise ImportError('distributed is not installed here')\n")
    out = tmp_path / "out"
    if existing:
        out.mkdir()  # an empty folder the user made stays, empty
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    r = cli("convert", src, "--from", "toy", "--to", "toy", "-o", out, "--executor", "dask", env=env)
    assert r.returncode == 2 and "dask" in r.stderr.lower() and len(r.stderr.splitlines()) == 1, r.stderr
    assert (out.is_dir() and not any(out.iterdir())) if existing else not out.exists()


def test_executor_dask_for_one_model_says_it_converts_here(toy, cli, tmp_path):
    src = inventory(tmp_path / "zoo", ["a"])
    r = cli("convert", src / "a.toy", "--from", "toy", "--to", "toy", "-o", tmp_path / "out", "--executor", "dask")
    assert r.returncode == 0, r.stderr
    assert "note: one model converts here; --executor dask distributes the models of an inventory" in r.stderr


# -- ONNX -> framework, verified (#27 new-user frictions) --------------------------------------
def test_import_verify_runs_the_onnx_file_on_onnx_runtime_and_the_written_files_on_the_framework(toy, cli, tmp_path):
    model = tmp_path / "m.onnx"
    make_model(model)
    r = cli("import", model, "--to", "toy", "-o", tmp_path / "out", "--verify", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    (row,) = result["differences"]
    assert row["source"] == "onnx" and row["target"] == "toy" and row["ok"] and row["max_abs"] < 1e-5
    assert (tmp_path / "out" / "model.toy").is_file()
    r = cli("import", model, "--to", "toy", "-o", tmp_path / "drift", "--verify")  # the toy drifts by 1 %
    assert r.returncode == 1 and "beyond" in r.stdout + r.stderr, r.stdout + r.stderr
    r = cli("import", model, "--to", "toy", "-o", tmp_path / "plain", "--json")
    assert r.returncode == 2 and "--json goes with --verify" in r.stderr


def test_convert_from_onnx_verifies_an_inventory_of_onnx_files(toy, cli, tmp_path):
    (tmp_path / "zoo").mkdir()
    for name in ("a", "b"):
        make_model(tmp_path / "zoo" / f"{name}.onnx")
    (tmp_path / "zoo" / "notes.txt").write_text("not a model")
    out = tmp_path / "out"
    r = cli("convert", tmp_path / "zoo", "--from", "onnx", "--to", "toy", "-o", out, "--verify", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert (rep["total"], rep["ok"]) == (2, 2) and all(m["differences"][0]["ok"] for m in rep["models"])
    r = cli("convert", tmp_path / "zoo" / "a.onnx", "--from", "onnx", "--to", "onnx", "-o", tmp_path / "x")
    assert r.returncode == 2 and "converts nothing" in r.stderr and not (tmp_path / "x").exists()


# -- the Python API (issue #27) --------------------------------------------------------------
def test_api_convert_verify_returns_the_differences(toy, tmp_path):
    import onnxhub

    make_model(tmp_path / "net.toy")
    result = onnxhub.convert([tmp_path / "net.toy"], "toy", "toy", tmp_path / "out", verify=True, seed=3)
    assert result["ok"] is True and result["written"] == [str(tmp_path / "out" / "model.toy")]
    (row,) = result["differences"]
    assert row["output"] == "y" and row["max_abs"] == 0 and row["ok"] is True
    make_model(tmp_path / "drift.toy")
    result = onnxhub.convert([tmp_path / "drift.toy"], None, "toy", tmp_path / "drift", verify=True, rtol=1e-4)
    assert result["ok"] is False and "beyond rtol=0.0001" in result["differences"][0]["note"]  # returned, not raised
    with pytest.raises(onnxhub.errors.UsageError, match=r"rtol only apply with verify=True"):
        onnxhub.convert([tmp_path / "net.toy"], "toy", "toy", tmp_path / "plain", rtol=1e-2)
    assert onnxhub.convert([tmp_path / "net.toy"], "toy", "toy", tmp_path / "plain") == [tmp_path / "plain" / "model.toy"]


@pytest.mark.parametrize("call", ["export_model", "export_to_file", "convert", "import_model"])
def test_api_misspelt_option_names_the_close_one(toy, tmp_path, call):
    import onnxhub

    make_model(tmp_path / "net.toy")
    args = {"export_model": ([tmp_path / "net.toy"],), "export_to_file": ([tmp_path / "net.toy"], tmp_path / "m.onnx"),
            "convert": ([tmp_path / "net.toy"], "toy", "toy", tmp_path / "out"),
            "import_model": (tmp_path / "net.toy", "toy", tmp_path / "out")}[call]
    with pytest.raises(onnxhub.errors.UsageError) as info:
        getattr(onnxhub, call)(*args, input_shape={"x": [2, 4]})
    assert str(info.value) == f"{call}() has no option 'input_shape'; did you mean 'input_shapes'?"
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.onnx").exists()
    if call == "export_model":  # a name close to none is the converter's to judge (the toy takes anything)
        assert onnxhub.export_model([tmp_path / "net.toy"], toy_level=3).graph.output[0].name == "y"


def test_dir_lists_the_lazy_api_without_importing_it():
    probe = ("import sys, onnxhub\nnames = dir(onnxhub)\n"
             "print(all(n in names for n in onnxhub.__all__), 'onnxhub.api' in sys.modules, 'onnx' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False", "False"]
