"""Each CLI verb loads, checks and resolves once; the ``cli`` package has no import cycle."""

import ast
from pathlib import Path

import numpy as np
import onnx
import pytest

from conftest import install_fake_plugin, make_model

CLI = Path(__file__).parents[2] / "src" / "onnxhub" / "cli"


@pytest.fixture
def calls(monkeypatch):
    """Counts, in this process: parses of the model file's bytes, onnx.checker runs, plugin targets loaded."""
    import onnxhub.api
    import onnxhub.modelio

    counts = {"parse": 0, "check": 0, "load_target": []}
    watched = {}
    parse, check, load_target = onnx.ModelProto.ParseFromString, onnxhub.modelio.check_model, onnxhub.api.load_target

    def counting_parse(self, data):
        counts["parse"] += bytes(data) == watched.get("bytes")
        return parse(self, data)

    def counting_check(proto):
        counts["check"] += 1
        return check(proto)

    def counting_load(target):
        counts["load_target"].append(target)
        return load_target(target)

    monkeypatch.setattr(onnx.ModelProto, "ParseFromString", counting_parse)
    monkeypatch.setattr(onnxhub.modelio, "check_model", counting_check)
    monkeypatch.setattr(onnxhub.api, "load_target", counting_load)
    counts["watch"] = lambda path: watched.update(bytes=Path(path).read_bytes())
    return counts


def hub(*args) -> int:
    from onnxhub.cli.main import main

    return main([str(a) for a in args])


def test_run_loads_checks_and_resolves_once(calls, tiny_model, tmp_path, capsys):
    calls["watch"](tiny_model)
    assert hub("run", tiny_model, "--random-inputs", "--backend", "reference", "-o", tmp_path / "y.npz") == 0
    assert (calls["parse"], calls["check"]) == (1, 1)
    assert calls["load_target"] == ["onnxhub.backend.reference:ReferenceBackend"]
    assert np.load(tmp_path / "y.npz")["y"].shape == (1, 3)


def test_verify_loads_once_and_resolves_each_backend_once(calls, tiny_model, capsys):
    calls["watch"](tiny_model)
    assert hub("verify", tiny_model, "--backends", "reference,reference", "--random-inputs") == 0
    assert (calls["parse"], calls["check"]) == (1, 1)
    assert len(calls["load_target"]) == 1  # the same name twice is one backend


def test_import_loads_and_checks_once(calls, plugin_site, tiny_model, tmp_path, capsys):
    install_fake_plugin(plugin_site, "toy-convert", "toyconvert", "fakeplug_toy", TOY)
    calls["watch"](tiny_model)
    assert hub("import", tiny_model, "--to", "toy", "-o", tmp_path / "out") == 0
    assert (calls["parse"], calls["check"]) == (1, 1)
    assert calls["load_target"] == ["fakeplug_toy:IMPORTER"]


def test_export_and_convert_check_once(calls, plugin_site, tmp_path, capsys):
    install_fake_plugin(plugin_site, "toy-convert", "toyconvert", "fakeplug_toy", TOY)
    src = tmp_path / "net.toy"
    make_model(src)
    assert hub("export", src, "-o", tmp_path / "net.onnx") == 0
    assert calls["check"] == 1 and calls["load_target"] == ["fakeplug_toy:EXPORTER"]
    calls["check"], calls["load_target"] = 0, []
    assert hub("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out") == 0
    assert calls["check"] == 1
    assert sorted(calls["load_target"]) == ["fakeplug_toy:EXPORTER", "fakeplug_toy:IMPORTER"]
    assert (tmp_path / "out" / "graph.txt").read_text().split() == ["MatMul", "Add", "Relu"]


def test_convert_refuses_a_full_folder_before_exporting(calls, plugin_site, tmp_path, capsys):
    install_fake_plugin(plugin_site, "toy-convert", "toyconvert", "fakeplug_toy", TOY)
    src = tmp_path / "net.toy"
    make_model(src)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    assert hub("convert", src, "--from", "toy", "--to", "toy", "-o", tmp_path / "out") == 2
    assert calls["check"] == 0 and "--force" in capsys.readouterr().err


# A toy framework whose "files" are ONNX models and whose import writes the op types.
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
    register(ExporterSpec(name="toy", summary="toy", target="fakeplug_toy:EXPORTER", patterns=("*.toy",)))


@hookimpl
def register_importers(register):
    register(ImporterSpec(name="toy", summary="toy", target="fakeplug_toy:IMPORTER"))
"""


def cli_imports(path: Path) -> set[str]:
    """Modules of ``onnxhub.cli`` that ``path`` imports, at any depth (functions included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                out.update([node.module] if node.module else [a.name for a in node.names])
            elif node.level == 0 and (node.module or "").startswith("onnxhub.cli."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names if a.name.startswith("onnxhub.cli."))
    return {m.split(".")[0] for m in out}


def test_cli_package_has_no_import_cycle():
    graph = {p.stem: cli_imports(p) - {p.stem} for p in CLI.glob("*.py")}
    assert "commands" in graph["main"]  # the walk sees function-level imports

    def cycle_from(start, path):
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == start:
                return path + [nxt]
            if nxt not in path:
                found = cycle_from(start, path + [nxt])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(m, [m]) for m in sorted(graph)) if c]
    assert not cycles, f"import cycle in onnxhub.cli: {' -> '.join(cycles[0])}"
