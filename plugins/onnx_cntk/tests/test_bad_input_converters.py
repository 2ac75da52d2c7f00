"""Issue #16: a ``.model`` whose functions lack inputs the converter needs is exit 2 naming the function."""

import numpy as np
from model_bytes import encode, tiny_model

from onnxhub.testing import run_cli

WEIGHT = np.arange(6, dtype=np.float32).reshape(3, 2) / 7


def test_function_missing_an_input(tmp_path):
    d = tiny_model(WEIGHT)
    plus = next(f for f in d["primitive_functions"] if f["uid"] == "Plus6")
    plus["inputs"] = plus["inputs"][:1]  # Plus reading only one operand
    path = tmp_path / "m.model"
    path.write_bytes(encode(d))
    r = run_cli("export", path, "--from", "cntk", "-o", tmp_path / "out.onnx")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    assert "Plus" in lines[0]
    assert not (tmp_path / "out.onnx").exists()
