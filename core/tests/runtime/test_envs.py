"""Runtime install: interpreter discovery, system-library checks, clean failure."""

import json

import pytest

from onnxhub.runtime.envs import version_matches

from conftest import install_fake_plugin, run_cli


@pytest.mark.parametrize("version, spec, ok", [
    ("3.6.15", ">=3.6,<3.7", True), ("3.7.0", ">=3.6,<3.7", False), ("3.9.18", "==3.9.*", True),
    ("3.10.1", "==3.9.*", False), ("3.9.0", "<=3.9", True), ("3.9.18", "<=3.9", False),
    ("3.11.7", ">=3.8,!=3.10.*", True), ("3.10.2", ">=3.8,!=3.10.*", False),
])
def test_version_matches(version, spec, ok):
    assert version_matches(version, spec) is ok


def _runtime_plugin(site, **fields):
    args = ", ".join(f"{k}={v!r}" for k, v in fields.items())
    install_fake_plugin(site, "rt-plugin", "rtplug", "fakeplug_rt", f"""
        from onnxhub import hookimpl, RuntimeSpec
        @hookimpl
        def register_runtimes(register):
            register(RuntimeSpec(summary="test", {args}))

        def failing_fixup(env_dir, python):
            raise RuntimeError("fix-up exploded")
    """)


def test_no_matching_interpreter_is_one_line_error(plugin_site, tmp_path, monkeypatch):
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    _runtime_plugin(plugin_site, name="ancient", python=">=2.0,<2.1")
    r = run_cli("runtime", "install", "ancient")
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()[-1]
    assert "needs Python >=2.0,<2.1" in err and "pyenv install 2.0" in err and "--python" in err
    assert not (tmp_path / "home" / "runtimes" / "ancient").exists()


def test_missing_system_library_stops_before_download(plugin_site, tmp_path, monkeypatch):
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    _runtime_plugin(plugin_site, name="needslib", python=">=3.6", requirements=("numpy==1.19.5",),
                    system_libs=(("libonnxhub-does-not-exist.so.9", "apt-get install libonnxhub9"),))
    r = run_cli("runtime", "install", "needslib")
    assert r.returncode == 2
    assert "libonnxhub-does-not-exist.so.9 (apt-get install libonnxhub9)" in r.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "home" / "runtimes" / "needslib").exists()


def test_failed_install_leaves_nothing_marked_installed(plugin_site, tmp_path, monkeypatch):
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    _runtime_plugin(plugin_site, name="badfix", python=">=3.10", fixups="fakeplug_rt:failing_fixup")
    r = run_cli("runtime", "install", "badfix", timeout=600)
    assert r.returncode != 0 and "fix-up exploded" in r.stderr
    assert "[5/6]" in r.stderr  # progress got that far
    assert not (tmp_path / "home" / "runtimes" / "badfix").exists()
    rows = json.loads(run_cli("runtime", "list", "--json").stdout)
    assert next(x for x in rows if x["name"] == "badfix")["status"] == "missing"


def test_install_says_what_it_downloads_before_anything_runs(plugin_site, tmp_path, monkeypatch):
    # issue #27: a 900 MB pip download used to start with no word of its size
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    _runtime_plugin(plugin_site, name="costly", python=">=2.0,<2.1", requirements=("numpy==1.19.5",),
                    download="about 15 MB download; 1 minute")
    r = run_cli("runtime", "install", "costly")
    assert r.returncode == 2  # no Python 2.0 here: stops at step 1, after saying what it would fetch
    first = r.stderr.splitlines()[0]
    assert first == "runtime costly: installs numpy==1.19.5 from PyPI (about 15 MB download; 1 minute)", r.stderr
    help_text = " ".join(run_cli("runtime", "install", "--help").stdout.split())
    assert "costly (Python >=2.0,<2.1): numpy==1.19.5; about 15 MB download; 1 minute" in help_text
    assert "progress shows on a terminal" in help_text


def test_pip_output_reaches_the_terminal(monkeypatch):
    """On a terminal pip runs with its stdout on that terminal, so it draws its progress bars."""
    import os
    import pty
    import sys

    from onnxhub.runtime import envs

    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as tty:
        monkeypatch.setattr(sys, "stderr", tty)
        envs._run_shown([sys.executable, "-c", "import sys; print('tty' if sys.stdout.isatty() else 'pipe')"],
                        "probing")
        with pytest.raises(envs.InstallFailed, match="probing failed: exit code 3 .pip's messages are above"):
            envs._run_shown([sys.executable, "-c", "raise SystemExit(3)"], "probing")
    seen = os.read(master, 1000).decode()
    os.close(master)
    assert "tty" in seen and "pipe" not in seen


def test_unknown_runtime_name(cli, plugin_site, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    _runtime_plugin(plugin_site, name="builtrt", python=">=3.6")
    _fake_installed(home, "builtrt")
    r = cli("runtime", "install", "nope")
    assert r.returncode == 2 and "no runtime named 'nope'" in r.stderr
    # issue #27: the registered runtimes were listed as "installed:"; both lists, each named for what it is
    assert "(known: " in r.stderr and "builtrt" in r.stderr.split("(known: ")[1].split(";")[0]
    assert r.stderr.rstrip().endswith("; installed: builtrt)"), r.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


def _fake_installed(home, name):
    """A runtime that looks installed (marker, interpreter, one file of its own)."""
    import sys

    env = home / "runtimes" / name
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    (env / "onnxhub-runtime.json").write_text(json.dumps({"name": name, "packages": ["old==1"]}))
    (env / "sentinel").write_text("the working runtime")
    return env


def test_force_rebuild_that_fails_keeps_the_working_runtime(plugin_site, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    _runtime_plugin(plugin_site, name="keepme", python=">=3.10", requirements=("onnxhub-no-such-package==1.0",))
    env = _fake_installed(home, "keepme")
    offline = {"PIP_INDEX_URL": f"http://127.0.0.1:{_closed_port()}/simple", "PIP_NO_CACHE_DIR": "1",
               "PIP_RETRIES": "0", "PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": ""}
    r = run_cli("runtime", "install", "keepme", "--force", env=offline, timeout=600)
    assert r.returncode != 0
    assert "previous install is kept" in r.stderr
    assert (env / "sentinel").read_text() == "the working runtime"
    rows = json.loads(run_cli("runtime", "list", "--json").stdout)
    assert next(x for x in rows if x["name"] == "keepme")["status"] == "installed"
    assert [p.name for p in (home / "runtimes").iterdir() if p.name.startswith(".keepme.onnxhub")] == []


def test_second_install_waits_for_the_first(plugin_site, tmp_path, monkeypatch):
    import fcntl
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    _runtime_plugin(plugin_site, name="locked", python=">=3.10")
    _fake_installed(home, "locked")
    fd = os.open(home / "runtimes" / ".locked.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "the first install", still running
    os.write(fd, b"4242")
    proc = subprocess.Popen([sys.executable, "-m", "onnxhub", "runtime", "install", "locked"],
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # blocks until the waiting line (or exit: then it is empty)
        assert "waiting for another install or remove of it to finish (pid 4242)" in first
        assert proc.poll() is None  # still waiting, not failed
    finally:
        os.close(fd)  # the first one finishes
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0 and "already installed" in rest
