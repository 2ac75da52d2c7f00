"""Round trip: models built and run by real CNTK 2.7 (``cntk_side.build``), exported to ONNX by onnxhub,
imported back into CNTK by onnxhub, then loaded and run by plain CNTK: the outputs match the original's.

Part 1's sequence families (LSTM, bidirectional, sequence ops) export to ONNX with a sequence axis
first (``[sequence, batch, ...]``), which the importer cannot map onto CNTK's batch axis: they are
refused (tested in ``test_importer.py``'s spirit: one line, exit 2).
"""

import numpy as np
import onnx
import pytest
from onnxhub_cntk.export.exporter import EXPORTER

from onnxhub.testing import assert_close, run_cli

FAMILIES = ("mlp", "cnn", "mlp_full", "cnn_full", "tensor_ops")
SEQUENCE_FAMILIES = ("lstm",)


def _build(cntk, tmp_path, name, seed):
    path = tmp_path / f"{name}.model"
    _, arrays = cntk.call("build", {"name": name, "path": str(path), "seed": seed, "batch": 3}, timeout=600)
    n = len([k for k in arrays if k[1:].isdigit()])
    return path, arrays["x"], [arrays[f"y{i}"] for i in range(n)]


@pytest.mark.runtime("cntk")
@pytest.mark.ground_truth
@pytest.mark.parametrize("opset", (13, 17))
@pytest.mark.parametrize("family", FAMILIES)
def test_cntk_to_onnx_to_cntk_matches_the_original(cntk, tmp_path, family, opset):
    path, x, ys = _build(cntk, tmp_path, family, seed=FAMILIES.index(family) + 30)
    model = EXPORTER.export([path], opset=opset)
    onnx_path = tmp_path / f"{family}.onnx"
    onnx.save(model, str(onnx_path))
    out = tmp_path / "back"
    r = run_cli("import", onnx_path, "--to", "cntk", "-o", out)
    assert r.returncode == 0, r.stderr
    (inp,) = [i.name for i in model.graph.input]
    result, got = cntk.call("plain_eval", {"path": str(out / "model.model")}, {inp: x}, timeout=600)
    assert [a["dynamic_axes"] for a in result["arguments"]] == [["defaultBatchAxis"]]
    assert len([k for k in got if k.startswith("y")]) == len(ys)
    for i, y in enumerate(ys):
        assert np.ptp(y) > 1e-3 and not np.allclose(y[0], y[1])  # every output depends on the input
        assert_close(got[f"y{i}"], y, rtol=1e-3, atol=1e-4, what=f"{family} output {i} after the round trip",
                     dtype=False)


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("family", SEQUENCE_FAMILIES)
def test_sequence_models_are_refused_in_one_line(cntk, tmp_path, family):
    path, _, _ = _build(cntk, tmp_path, family, seed=5)
    onnx_path = tmp_path / f"{family}.onnx"
    onnx.save(EXPORTER.export([path], opset=17), str(onnx_path))
    r = run_cli("import", onnx_path, "--to", "cntk", "-o", tmp_path / "back")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "CNTK" in line, line
    assert not (tmp_path / "back").exists()
