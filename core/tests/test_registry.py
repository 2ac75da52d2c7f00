import json

import pytest

from onnxhub import BackendSpec
from onnxhub.errors import PluginError
from onnxhub.registry import get_registry, reset_registry

from conftest import install_fake_plugin, run_cli

GOOD = """
from onnxhub import hookimpl, BackendSpec, ExporterSpec

@hookimpl
def register_backends(register):
    register(BackendSpec(name="fake", summary="a fake backend",
                         target="onnxhub.backend.reference:ReferenceBackend", priority=-1))

@hookimpl
def register_exporters(register):
    register(ExporterSpec(name="fakefw", summary="fake exporter", target="fakeplug_good:X",
                          patterns=("*.fake",)))
"""


def test_builtin_reference_backend_is_registered_through_entry_point():
    reset_registry()
    reg = get_registry()
    assert reg.items["backend"]["reference"].plugin == "reference"
    assert reg.plugins["reference"].distribution == "onnxhub"
    assert reg.plugins["reference"].hooks == ["register_backends"]
    assert reg.status("backend", "reference") == ("ready", None)


def test_third_party_plugin_is_discovered(plugin_site):
    install_fake_plugin(plugin_site, "fake-plugin", "fake", "fakeplug_good", GOOD)
    reg = get_registry()
    assert reg.items["backend"]["fake"].plugin == "fake"
    assert reg.items["exporter"]["fakefw"].spec.patterns == ("*.fake",)
    rec = reg.plugins["fake"]
    assert (rec.distribution, rec.version, rec.status) == ("fake-plugin", "1.0", "ok")


def test_import_error_marks_plugin_broken_and_keeps_others(plugin_site):
    install_fake_plugin(plugin_site, "bad-import", "badimport", "fakeplug_badimport", "import does_not_exist_xyz\n")
    reg = get_registry()
    rec = reg.plugins["badimport"]
    assert rec.status == "broken" and "does_not_exist_xyz" in rec.error
    assert "reference" in reg.items["backend"]


def test_raising_hook_marks_plugin_broken_and_registers_nothing(plugin_site):
    src = """
    from onnxhub import hookimpl, BackendSpec
    @hookimpl
    def register_backends(register):
        register(BackendSpec(name="halfway", summary="s", target="m:X"))
        raise RuntimeError("boom in hook")
    """
    install_fake_plugin(plugin_site, "bad-hook", "badhook", "fakeplug_badhook", src)
    reg = get_registry()
    assert reg.plugins["badhook"].status == "broken"
    assert "boom in hook" in reg.plugins["badhook"].error
    assert "halfway" not in reg.items["backend"]


def test_duplicate_name_is_an_error_naming_both_plugins(plugin_site):
    src = """
    from onnxhub import hookimpl, BackendSpec
    @hookimpl
    def register_backends(register):
        register(BackendSpec(name="reference", summary="imposter", target="m:X"))
    """
    install_fake_plugin(plugin_site, "dup-plugin", "dup", "fakeplug_dup", src)
    reg = get_registry()
    err = reg.plugins["dup"].error
    assert reg.plugins["dup"].status == "broken"
    assert "'reference'" in err and "'dup'" in err and "both" in err
    assert reg.items["backend"]["reference"].plugin == "reference"


def test_onnxhub_plugins_env_selects_entry_points(plugin_site, monkeypatch):
    install_fake_plugin(plugin_site, "fake-plugin", "fake", "fakeplug_good", GOOD)
    monkeypatch.setenv("ONNXHUB_PLUGINS", "")
    reg = get_registry()
    assert "fake" not in reg.plugins and "reference" in reg.plugins  # built-ins always load
    reset_registry()
    monkeypatch.setenv("ONNXHUB_PLUGINS", "fake")
    assert "fake" in get_registry().plugins


def test_wrong_spec_type_breaks_only_that_plugin(plugin_site):
    src = """
    from onnxhub import hookimpl, ImporterSpec
    @hookimpl
    def register_backends(register):
        register(ImporterSpec(name="x", summary="s", target="m:X"))
    """
    install_fake_plugin(plugin_site, "wrong-type", "wrongtype", "fakeplug_wrongtype", src)
    rec = get_registry().plugins["wrongtype"]
    assert rec.status == "broken" and "BackendSpec" in rec.error


def test_unknown_name_lists_what_is_installed():
    reset_registry()
    with pytest.raises(PluginError, match=r"no backend named 'nope' \(known: .*reference"):
        get_registry().get("backend", "nope")


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="Bad Name", summary="s", target="m:X"), "lower-case"),
    (dict(name="ok", summary="two\nlines", target="m:X"), "one-line"),
    (dict(name="ok", summary="s", target="no_colon"), "package.module:Attribute"),
])
def test_spec_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BackendSpec(**kwargs)


def test_specs_are_immutable():
    spec = BackendSpec(name="a", summary="s", target="m:X", devices=["CPU"])
    assert spec.devices == ("cpu",)
    with pytest.raises(AttributeError):
        spec.name = "b"


def test_every_public_api_name_resolves():
    import onnxhub

    for name in onnxhub.__all__:
        assert getattr(onnxhub, name) is not None, name


def test_misspelt_hook_marks_plugin_broken_with_its_name(plugin_site):
    src = """
    from onnxhub import hookimpl, BackendSpec
    @hookimpl
    def register_backend(register):
        register(BackendSpec(name="typo", summary="s", target="m:X"))
    """
    install_fake_plugin(plugin_site, "typo-plugin", "typo", "fakeplug_typo", src)
    reg = get_registry()
    rec = reg.plugins["typo"]
    assert rec.status == "broken"
    assert "unknown hook 'register_backend'" in rec.error and "did you mean 'register_backends'" in rec.error
    assert "typo" not in reg.items["backend"]


@pytest.mark.parametrize("where", ["import", "hook"])
def test_system_exit_in_a_plugin_is_that_plugins_failure(plugin_site, where):
    src = "raise SystemExit(7)\n" if where == "import" else """
    from onnxhub import hookimpl
    @hookimpl
    def register_backends(register):
        raise SystemExit(7)
    """
    install_fake_plugin(plugin_site, "exiting", "exiting", "fakeplug_exiting", src)
    r = run_cli("list-backends", "--json")
    assert r.returncode == 0, r.stderr
    assert "reference" in r.stdout
    reg = get_registry()
    assert reg.plugins["exiting"].status == "broken" and "SystemExit: 7" in reg.plugins["exiting"].error


def test_plugin_prints_during_discovery_go_to_stderr(plugin_site):
    src = GOOD.replace("from onnxhub import", "print('hello from a chatty plugin')\nfrom onnxhub import")
    install_fake_plugin(plugin_site, "chatty", "chatty", "fakeplug_chatty", src)
    r = run_cli("list-backends", "--json")
    assert r.returncode == 0
    assert "fake" in {row["name"] for row in json.loads(r.stdout)}  # stdout is still pure JSON
    assert "hello from a chatty plugin" in r.stderr


def test_onnxhub_plugins_names_that_match_nothing_are_reported(monkeypatch):
    monkeypatch.setenv("ONNXHUB_PLUGINS", "nosuch")
    reset_registry()
    rec = get_registry().plugins["nosuch"]
    assert rec.status == "broken" and "no installed plugin" in rec.error
    reset_registry()


@pytest.mark.parametrize("field, value", [("priority", "high"), ("devices", "cpu"), ("requires", "numpy"),
                                          ("runtime", 3), ("priority", True)])
def test_spec_fields_are_type_checked(field, value):
    with pytest.raises(TypeError, match=field):
        BackendSpec(name="x", summary="s", target="m:X", **{field: value})
