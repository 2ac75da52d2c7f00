"""modelio: streamed saving writes exactly what ONNX's own serializer would."""

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from onnxhub.modelio import save_streaming


def weights():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f16": rng.standard_normal(5).astype(np.float16),
        "f64_strided": rng.standard_normal((4, 4))[:, ::2],
        "i64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "u8": np.arange(3, dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.float32(2.5),  # stays 0-d
        "empty": np.zeros((0, 3), np.float32),
        "big": rng.standard_normal(300_000).astype(np.float32),  # length varints of 3 bytes
        "big_endian": np.arange(4, dtype=">i4"),
    }


def test_streamed_initializers_round_trip(tmp_path):
    arrays = weights()
    nodes = [helper.make_node("Identity", [k], [f"{k}_out"]) for k in arrays]
    outputs = [helper.make_tensor_value_info(f"{k}_out", helper.np_dtype_to_tensor_dtype(
        np.asarray(v).dtype.newbyteorder("=")), np.shape(v)) for k, v in arrays.items()]
    model = helper.make_model(helper.make_graph(nodes, "g", [], outputs), opset_imports=[helper.make_opsetid("", 17)])
    path = save_streaming(model, list(arrays.items()), tmp_path / "m.onnx")
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    got = {t.name: numpy_helper.to_array(t) for t in loaded.graph.initializer}
    assert list(got) == list(arrays)
    for name, want in arrays.items():
        want = np.asarray(want)
        assert got[name].shape == want.shape and got[name].dtype == want.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_streamed_file_is_refused_when_it_exists(tmp_path):
    from onnxhub.errors import UsageError

    target = tmp_path / "m.onnx"
    target.write_bytes(b"mine")
    model = helper.make_model(helper.make_graph([], "g", [], []))
    with pytest.raises(UsageError):
        save_streaming(model, [], target)
    assert target.read_bytes() == b"mine"
