"""Shared fixtures: small ONNX models made on the spot, installed-looking plugins, the CLI."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from onnxhub.testing import ensure_runtime, run_cli


@pytest.fixture
def cli():
    return run_cli


def make_model(path: Path | None = None, opset: int = 17):
    """y = relu(x @ W + b), x: float32[N, 4] with a dynamic batch dimension N."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["z"]),
         helper.make_node("Relu", ["z"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, str(path))
    return model


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    path = tmp_path / "tiny.onnx"
    make_model(path)
    return path


HERE = Path(__file__).parent
REPO = HERE.parent.parent

# The test runtime of the bridge tests: CPython 3.6 with numpy 1.19.5, no framework.
TESTRT_PLUGIN = """
from onnxhub import hookimpl, RuntimeSpec

@hookimpl
def register_runtimes(register):
    register(RuntimeSpec(name="testrt", summary="bridge tests: CPython 3.6 + numpy 1.19.5",
                         python=">=3.6,<3.7", requirements=("numpy==1.19.5",),
                         handler="onnxhub_testrt_handler", env=(("OMP_NUM_THREADS", "1"),)))
"""


def install_fake_plugin(site: Path, dist: str, entry_name: str, module: str, source: str, version="1.0") -> Path:
    """Lay out a plugin the way pip would (a module plus its .dist-info) in ``site``.

    importlib.metadata finds it exactly as it finds a pip-installed distribution once
    ``site`` is on the path; no mock of the discovery is involved.
    """
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[onnxhub]\n{entry_name} = {module}\n")
    return site


def pytest_configure(config):
    # Runtimes built by the tests live in the repository's (git-ignored) home unless told otherwise.
    os.environ.setdefault("ONNXHUB_HOME", str(REPO / ".onnxhub-home"))


@pytest.fixture(scope="session")
def testrt_site(tmp_path_factory):
    """A site folder with the test-runtime plugin, put on the path for this session."""
    site = tmp_path_factory.mktemp("testrt-site")
    install_fake_plugin(site, "onnxhub-testrt", "testrt", "onnxhub_testrt_plugin", TESTRT_PLUGIN)
    (site / "onnxhub_testrt_handler.py").write_text((HERE / "runtime" / "handler_testrt.py").read_text())
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    mp.syspath_prepend(str(site))
    from onnxhub.registry import reset_registry

    reset_registry()
    yield site
    mp.undo()
    reset_registry()


@pytest.fixture(scope="session")
def testrt(testrt_site):
    """The test runtime, installed through the CLI if it is not yet (skips or fails without Python 3.6)."""
    ensure_runtime("testrt", timeout=900)
    return "testrt"


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A folder on PYTHONPATH (for subprocesses) and sys.path (in process) to install plugins into."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(site))
    from onnxhub.registry import reset_registry

    reset_registry()
    yield site
    reset_registry()
    for mod in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[mod]
