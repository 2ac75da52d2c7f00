"""``onnxhub new-plugin``: write a working plugin project from the templates below.

The project installs with pip, registers through the ``onnxhub`` entry point, and its
tests run the ONNX conformance suite through onnxhub's pytest plugin.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UsageError

KINDS = ("backend", "importer", "exporter")

PYPROJECT = '''[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "{distribution}"
version = "0.1.0"
description = "onnxhub plugin: {summary}"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["onnxhub>=0.1", "onnx", "numpy"]

[project.optional-dependencies]
test = ["pytest>=7"]

[project.entry-points.onnxhub]
"{name}" = "{module}.plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
{pytest_addopts}'''

README = '''# {distribution}

An onnxhub {what} plugin, made by `onnxhub new-plugin {name} --kind {kind}`.

    pip install -e .[test]
    onnxhub plugins                 # shows {name}
{listings}    pytest                          # unit tests{pytest_note}

Where to go from here: {target_files} hold the code that does the work
(one small function per operator, registered on an `onnxhub.optable.OpTable`);
`src/{module}/plugin.py` only registers it and must stay import-light. The plugin
contract is the docstrings of `onnxhub.hookspecs`; `onnxhub.testing` has the test helpers
(`run_cli`, `assert_close`, `assert_matches_reference`, `runtime_worker_fixture`).
'''

PLUGIN = '''"""Registers the {kind}; imports nothing but onnxhub, so listing stays fast."""

from onnxhub import {specs}, hookimpl
'''

HOOK = '''

@hookimpl
def {hook}(register):
    register({spec}(
        name="{name}",
        summary="{summary}",
        target="{module}.{target_module}:{target_attr}",{extra}
    ))
'''

BACKEND = '''"""The backend: a small interpreter over an operator table (``onnxhub.optable.OpTable``).

Add an operator by writing one function and registering it with ``@TABLE.register("OpType")``;
an op whose meaning changed at some opset gets one function per range (``since=``, ``until=``).
``HubBackend.prepare`` checks the device and options, then calls ``prepare_rep``.
"""

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import BackendRep

from onnxhub.backend.base import HubBackend, bind_inputs, graph_input_names, model_opset
from onnxhub.optable import OpTable

TABLE = OpTable("{name}")


@TABLE.register("Identity")
def identity(x):
    return (x,)


@TABLE.register("Add", since=7)  # before opset 7, broadcasting was a node attribute
def add(a, b):
    return (np.add(a, b).astype(np.result_type(a, b)),)


@TABLE.register("Mul", since=7)
def mul(a, b):
    return (np.multiply(a, b).astype(np.result_type(a, b)),)


@TABLE.register("Relu", since=6)  # before opset 6, a legacy consumed_inputs attribute
def relu(x):
    return (np.maximum(x, 0).astype(x.dtype),)


class Rep(BackendRep):
    def __init__(self, model):
        opset = model_opset(model) or 1
        TABLE.check([(node.domain, node.op_type) for node in model.graph.node], opset)  # names every gap
        self.nodes = [(TABLE.get(node.op_type, opset, node.domain), node) for node in model.graph.node]
        self.input_names = graph_input_names(model)
        self.output_names = [o.name for o in model.graph.output]
        self.weights = {{t.name: numpy_helper.to_array(t) for t in model.graph.initializer}}

    def run(self, inputs, **kwargs):
        values = dict(self.weights, **bind_inputs(self.input_names, inputs))
        for fn, node in self.nodes:
            attrs = {{a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}}
            values.update(zip(node.output, fn(*[values[i] if i else None for i in node.input], **attrs)))
        return [values[name] for name in self.output_names]


class Backend(HubBackend):
    name = "{name}"
    devices = ("cpu",)
    options = ()  # the option names prepare() accepts

    @classmethod
    def prepare_rep(cls, model, device, **options):
        return Rep(model)
'''

# The importer and exporter share a toy "framework format": NAME.graph.json + NAME.weights.npz,
# so the files an importer writes are the files the exporter reads back.
IMPORTER = '''"""The importer: ONNX -> this framework's files.

The template writes a toy format (``model.graph.json`` + ``model.weights.npz``, the files
the scaffolded exporter reads); replace the
operator table's functions with converters to your framework's own layer definitions.
"""

import json

import numpy as np
from onnx import numpy_helper

from onnxhub.backend.base import model_opset
from onnxhub.optable import OpTable

TABLE = OpTable("the {name} importer")  # ONNX op -> layer, at the model's opset


@TABLE.register("Relu", "Add", "Mul", "MatMul", "Identity")
def same_layer(node):
    return {{"op": node.op_type, "inputs": list(node.input), "outputs": list(node.output)}}


def _shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else None for d in dims]


class Importer:
    def import_model(self, model, output_dir, **options):
        opset = model_opset(model) or 1
        TABLE.check([(node.domain, node.op_type) for node in model.graph.node], opset)  # names every gap
        layers = [TABLE.get(node.op_type, opset, node.domain)(node) for node in model.graph.node]
        inits = {{t.name for t in model.graph.initializer}}
        graph = {{"inputs": {{i.name: _shape(i) for i in model.graph.input if i.name not in inits}},
                  "outputs": {{o.name: _shape(o) for o in model.graph.output}}, "layers": layers}}
        (output_dir / "model.graph.json").write_text(json.dumps(graph, indent=1))
        weights = {{t.name: numpy_helper.to_array(t) for t in model.graph.initializer}}
        with open(output_dir / "model.weights.npz", "wb") as f:
            np.savez(f, **weights)
        return [output_dir / "model.graph.json", output_dir / "model.weights.npz"]


IMPORTER = Importer()
'''

EXPORTER = '''"""The exporter: this framework's files -> ONNX, without the framework installed.

The template reads a toy format: ``NAME.graph.json`` (``{{"inputs": {{name: shape}},
"outputs": {{name: shape}}, "layers": [{{"op", "inputs", "outputs"}}]}}``, ``null`` for a
dynamic dimension) and ``NAME.weights.npz``. Replace the readers and the operator
table with your framework's.
"""

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnxhub.errors import InvalidModel
from onnxhub.optable import OpTable

TABLE = OpTable("the {name} exporter", domain="{name}")  # layer op -> ONNX nodes, at the target opset


@TABLE.register("Relu", "Add", "Mul", "MatMul", "Identity")
def same_op(layer):
    return [helper.make_node(layer["op"], layer["inputs"], layer["outputs"])]


def read_graph(files):
    """``(graph file, graph dict, weights)`` from the files given to ``export``."""
    graph_file = next((Path(f) for f in files if str(f).endswith(".graph.json")), None)
    if graph_file is None:
        raise InvalidModel("no *.graph.json among the files")
    try:
        graph = json.loads(graph_file.read_text())
    except ValueError as exc:
        raise InvalidModel(f"{{graph_file}}: not JSON ({{exc}})")
    if not isinstance(graph, dict) or not {{"inputs", "outputs", "layers"}} <= set(graph):
        raise InvalidModel(f"{{graph_file}}: not a graph file (needs inputs, outputs and layers)")
    weights_file = graph_file.with_name(graph_file.name[: -len(".graph.json")] + ".weights.npz")
    weights = dict(np.load(weights_file)) if weights_file.exists() else {{}}
    return graph_file, graph, weights


class Exporter:
    def export(self, files, opset=17, **options):
        graph_file, graph, weights = read_graph(files)
        TABLE.check([str(layer.get("op")) for layer in graph["layers"]], opset)  # names every gap
        nodes = [n for layer in graph["layers"] for n in TABLE.get(layer["op"], opset)(layer)]
        inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in graph["inputs"].items()]
        outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in graph["outputs"].items()]
        inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
        opsets = [helper.make_opsetid("", opset)]
        model = helper.make_model(helper.make_graph(nodes, graph_file.stem, inputs, outputs, inits),
                                  opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets))
        onnx.checker.check_model(model)
        return model


EXPORTER = Exporter()
'''

TESTS = {
    "backend": '''import numpy as np
from onnx import TensorProto, helper

import onnxhub
from onnxhub.testing import assert_matches_reference


def test_registered_and_ready():
    assert any(b["name"] == "{name}" and b["status"] == "ready" for b in onnxhub.backends())


def test_matches_reference():
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["m"]), helper.make_node("Relu", ["m"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    out = assert_matches_reference("{name}", model)
    assert (out["y"] >= 0).all() and np.isfinite(out["y"]).all()

# The ONNX conformance cases run too: pyproject.toml passes --onnxhub-backend to pytest.
''',
    "importer": '''import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import onnxhub


def test_registered_and_ready():
    assert any(i["name"] == "{name}" and i["status"] == "ready" for i in onnxhub.importers())


def test_import_writes_the_files(tmp_path):
    w = numpy_helper.from_array(np.eye(3, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    written = onnxhub.import_model(model, "{name}", tmp_path / "out")
    assert sorted(p.name for p in written) == ["model.graph.json", "model.weights.npz"]
    graph = json.loads((tmp_path / "out" / "model.graph.json").read_text())
    assert graph["layers"][0]["op"] == "MatMul" and graph["inputs"] == {{"x": [1, 3]}}
''',
    "exporter": '''import json

import numpy as np

import onnxhub


def test_registered_and_ready():
    assert any(e["name"] == "{name}" and e["status"] == "ready" for e in onnxhub.exporters())


def test_export_then_run(tmp_path):
    (tmp_path / "net.graph.json").write_text(json.dumps({{
        "inputs": {{"x": [None, 2]}}, "outputs": {{"y": [None, 2]}},
        "layers": [{{"op": "MatMul", "inputs": ["x", "w"], "outputs": ["h"]}},
                   {{"op": "Relu", "inputs": ["h"], "outputs": ["y"]}}]}}))
    np.savez(tmp_path / "net.weights.npz", w=np.eye(2, dtype=np.float32))
    model = onnxhub.export_model([tmp_path / "net.graph.json"], opset=17)  # found by file name
    x = np.array([[1.0, -2.0]], np.float32)
    y = onnxhub.run(model, {{"x": x}}, backend="reference")["y"]
    np.testing.assert_array_equal(y, [[1.0, 0.0]])
''',
}

TARGETS = {
    "backend": ("BackendSpec", "register_backends", "backend", "Backend", "list-backends",
                '\n        devices=("cpu",),'),
    "importer": ("ImporterSpec", "register_importers", "importer", "IMPORTER", "list-importers", ""),
    "exporter": ("ExporterSpec", "register_exporters", "exporter", "EXPORTER", "list-exporters",
                 '\n        patterns=("*.graph.json",),'),
}


_NAME = re.compile(r"[a-z][a-z0-9]*([-_][a-z0-9]+)*")


def names(name: str) -> tuple[str, str]:
    """``(distribution, module)`` of plugin ``name``: ``acme-backend`` -> ``onnxhub-acme-backend``,
    ``onnxhub_acme_backend``. The distribution uses only ``-``, the module only ``_``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' "
                         "or '_', starting with a letter (e.g. acme-backend)")
    return "onnxhub-" + name.replace("_", "-"), "onnxhub_" + name.replace("-", "_")


def parse_kinds(kind) -> tuple[str, ...]:
    """``"importer,exporter"`` (or a sequence) -> the kinds in canonical order, each once."""
    parts = kind.split(",") if isinstance(kind, str) else list(kind)
    parts = [p.strip() for p in parts if p.strip()]
    bad = [p for p in parts if p not in KINDS]
    if bad or not parts:
        raise UsageError(f"--kind must be one or more of {', '.join(KINDS)}, comma-separated "
                         f"(got {kind if isinstance(kind, str) else ','.join(kind)!r})")
    return tuple(k for k in KINDS if k in parts)


def render(name: str, kind="backend") -> dict[str, str]:
    """``{relative path: text}`` of the project for plugin ``name`` with the given kind(s).

    ``kind`` is one kind or several (``"importer,exporter"``): one distribution, one plugin
    module with a hook per kind, one target module and one test file per kind.
    """
    distribution, module = names(name)
    kinds = parse_kinds(kind)
    kind_text = ",".join(kinds)
    what = " + ".join(kinds)
    summary = f"{name} {what} (made from the onnxhub template)"
    files: dict[str, str] = {}
    hooks, specs, listings, target_files = [], [], [], []
    for k in kinds:
        spec, hook, target_module, target_attr, listing, extra = TARGETS[k]
        fields = dict(name=name, module=module, kind=k, summary=f"{name} {k} (made from the onnxhub template)",
                      spec=spec, hook=hook, target_module=target_module, target_attr=target_attr, extra=extra)
        specs.append(spec)
        hooks.append(HOOK.format(**fields))
        listings.append(f"    onnxhub {listing:<20}# shows {name}, ready\n")
        target_files.append(f"`src/{module}/{target_module}.py`")
        code = {"backend": BACKEND, "importer": IMPORTER, "exporter": EXPORTER}[k]
        files[f"src/{module}/{target_module}.py"] = code.format(**fields)
        test_name = f"tests/test_{module[len('onnxhub_'):]}.py" if len(kinds) == 1 else f"tests/test_{k}.py"
        files[test_name] = TESTS[k].format(**fields)
    is_backend = "backend" in kinds
    addopts = f'addopts = "--onnxhub-backend {name} --onnxhub-xfail-unsupported"\n' if is_backend else ""
    note = (" and the ONNX conformance suite: cases this backend refuses with\n"
            "                                    # UnsupportedOperator are xfail, all others must pass") if is_backend else ""
    common = dict(name=name, module=module, distribution=distribution, kind=kind_text, summary=summary)
    return {
        "pyproject.toml": PYPROJECT.format(pytest_addopts=addopts, **common),
        "README.md": README.format(pytest_note=note, listings="".join(listings), what=what,
                                   target_files=", ".join(target_files), **common),
        f"src/{module}/__init__.py": f'"""onnxhub plugin {name}: {summary}."""\n',
        f"src/{module}/plugin.py": PLUGIN.format(kind=" and ".join(kinds), specs=", ".join(specs)) + "".join(hooks),
        **files,
    }


def write(name: str, kind="backend", output: Path | None = None, force: bool = False) -> Path:
    from .modelio import atomic_dir

    files = render(name, kind)
    target = Path(output) if output else Path(names(name)[0])
    with atomic_dir(target, force=force, kind="new-plugin") as stage:  # --force replaces only new-plugin output
        for rel, text in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return target
