"""Nets that Caffe2's own ONNX backend made (``Caffe2Backend.onnx_graph_to_caffe2_net``), exported back.

Caffe2's ONNX code needs onnx, which the caffe2 runtime does not carry: ``onnx==1.17.0`` (the
newest that works with its protobuf 3.20) and ``onnxoptimizer==0.3.13`` are installed once,
without dependencies, into ``$ONNXHUB_HOME/caffe2-onnx-site``, plus the ``onnx/optimizer.py``
shim torch 1.10.2's backend needs; the recipe puts the folder on ``sys.path`` (workers run isolated).
"""

import subprocess
from pathlib import Path

import onnx
import pytest
from onnxhub_caffe2.export.exporter import EXPORTER
from test_export import _check, _files

from onnxhub.testing import runtime_worker

ONNX_PINS = ("onnx==1.17.0", "onnxoptimizer==0.3.13")


@pytest.fixture(scope="module")
def caffe2_onnx(tmp_path_factory):
    from onnxhub.home import home, runtime_dir, runtime_installed
    from onnxhub.pytest_plugin import missing_runtime
    from onnxhub.testing import ensure_runtime

    ensure_runtime("caffe2")
    if not runtime_installed("caffe2"):
        pytest.skip("the caffe2 runtime is not installed")
    site = home() / "caffe2-onnx-site"
    if not (site / "onnx" / "optimizer.py").exists():
        py = str(runtime_dir("caffe2") / "bin" / "python")
        r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), *ONNX_PINS],
                           capture_output=True, text=True)
        if r.returncode != 0:
            missing_runtime(f"cannot install {' '.join(ONNX_PINS)} for Caffe2's ONNX backend: "
                            f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")
        (site / "onnx" / "optimizer.py").write_text("from onnxoptimizer import *  # noqa: F401,F403\n")
    with runtime_worker("caffe2", Path(__file__).parent / "caffe2_side.py") as worker:
        yield worker, str(site)


@pytest.mark.runtime("caffe2")
@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("name", ["onnx_cnn", "onnx_mixed"])
def test_nets_from_caffe2s_onnx_backend(caffe2_onnx, tmp_path, name, opset):
    worker, site = caffe2_onnx
    result, arrays = worker.call("from_onnx", {"name": name, "folder": str(tmp_path / name), "seed": 3, "site": site})
    ys = [arrays[f"y{i}"] for i in range(len(result["outputs"]))]
    model = EXPORTER.export(_files(result), opset=opset)
    onnx.checker.check_model(model, full_check=True)
    _check(model, result, arrays["x"], ys, f"{name} (from Caffe2's ONNX backend) at opset {opset}")
