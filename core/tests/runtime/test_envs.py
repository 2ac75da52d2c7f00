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


def test_unknown_runtime_name(cli):
    r = cli("runtime", "install", "nope")
    assert r.returncode == 2 and "no runtime named 'nope'" in r.stderr
