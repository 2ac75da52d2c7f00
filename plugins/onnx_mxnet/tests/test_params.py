"""The .params reader on every dense dtype MXNet writes, checked against real MXNet when it is installed."""

import numpy as np
import pytest
from onnxhub_mxnet.formats.params import load_params
from test_bad_input import write_params

DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]


def test_reader_roundtrip_without_mxnet(tmp_path):
    arrays = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.zeros(3, np.float32)}
    write_params(tmp_path / "x.params", arrays)
    loaded = load_params(tmp_path / "x.params")
    assert set(loaded) == {"w", "b"}
    np.testing.assert_array_equal(loaded["w"], arrays["w"])
    assert not loaded["w"].flags.owndata  # a view on the memory map, not a copy


@pytest.mark.runtime("mxnet")
def test_every_dtype_written_by_mxnet(mxnet, tmp_path):
    script = tmp_path / "save.py"
    script.write_text(
        "import mxnet as mx, numpy as np, sys\n"
        f"dtypes = {DTYPES!r}\n"
        "arrays = {('arg:' if i % 2 else 'aux:') + d: mx.nd.array((np.arange(6).reshape(2, 3) % 5), dtype=d)"
        " for i, d in enumerate(dtypes)}\n"
        "arrays['arg:scalar_like'] = mx.nd.array([7.5])\n"
        "mx.nd.save(sys.argv[1], arrays)\n")
    import subprocess

    from onnxhub.home import runtime_dir

    r = subprocess.run([str(runtime_dir("mxnet") / "bin" / "python"), str(script), str(tmp_path / "all.params")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    loaded = load_params(tmp_path / "all.params")
    for d in DTYPES:
        assert loaded[d].dtype == np.dtype(d) and loaded[d].shape == (2, 3)
        np.testing.assert_array_equal(loaded[d], (np.arange(6).reshape(2, 3) % 5).astype(d))
    assert loaded["scalar_like"].tolist() == [7.5]
