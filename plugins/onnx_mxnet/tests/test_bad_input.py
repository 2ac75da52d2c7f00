"""Corrupt MXNet files end in one line on stderr, exit code 2, and no output file.

The files are made by the pure-Python writer below (the layout of RUNTIMES.md and
MXNet's ndarray.cc), so these tests run without the MXNet runtime.
"""

import json
import struct

import numpy as np
import pytest

from onnxhub.testing import run_cli


def write_params(path, arrays: dict, magic=0xF993FAC9, header=0x112):
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", header, 0, len(arrays)))
        for arr in arrays.values():
            arr = np.ascontiguousarray(arr, np.float32)
            f.write(struct.pack("<Ii", magic, 0))
            f.write(struct.pack("<i", arr.ndim) + struct.pack(f"<{arr.ndim}q", *arr.shape))
            f.write(struct.pack("<iii", 1, 0, 0))
            f.write(arr.tobytes())
        f.write(struct.pack("<Q", len(arrays)))
        for name in arrays:
            data = f"arg:{name}".encode()
            f.write(struct.pack("<Q", len(data)) + data)


def write_symbol(path, weight_shape=None):
    nodes = [{"op": "null", "name": "data", "inputs": []},
             {"op": "null", "name": "fc_weight", "inputs": [],
              **({"attrs": {"__shape__": str(tuple(weight_shape))}} if weight_shape else {})},
             {"op": "null", "name": "fc_bias", "inputs": []},
             {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "3"},
              "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}]
    path.write_text(json.dumps({"nodes": nodes, "arg_nodes": [0, 1, 2], "heads": [[3, 0, 0]],
                                "attrs": {"mxnet_version": ["int", 10901]}}))


@pytest.fixture
def good(tmp_path):
    write_symbol(tmp_path / "net-symbol.json")
    write_params(tmp_path / "net-0000.params", {"fc_weight": np.ones((3, 4)), "fc_bias": np.zeros(3)})
    return tmp_path / "net-symbol.json", tmp_path / "net-0000.params"


def export(sym, params, out, *extra):
    return run_cli("export", sym, params, "-o", out, "--input-shape", "data=1,4", *extra)


def assert_clean(r, out, *fragments):
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), r.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert not out.exists()


def test_good_files_export_by_sniffing(good, tmp_path):
    out = tmp_path / "net.onnx"
    r = export(*good, out)  # no --from: recognised by the file names
    assert r.returncode == 0, r.stderr
    import onnx

    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17 and model.ir_version == 8


def test_truncated_params(good, tmp_path):
    sym, params = good
    params.write_bytes(params.read_bytes()[:60])
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "truncated")


def test_wrong_magic(good, tmp_path):
    sym, params = good
    write_params(params, {"fc_weight": np.ones((3, 4))}, header=0x113)
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "not an MXNet .params file")


def test_wrong_array_magic(good, tmp_path):
    sym, params = good
    write_params(params, {"fc_weight": np.ones((3, 4)), "fc_bias": np.zeros(3)}, magic=0x12345678)
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "unknown magic")


def test_json_that_is_not_a_symbol(good, tmp_path):
    sym, params = good
    sym.write_text(json.dumps({"hello": "world"}))
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "not an MXNet symbol")


def test_not_json(good, tmp_path):
    sym, params = good
    sym.write_text("{nodes: oops")
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "not JSON")


def test_missing_parameter(good, tmp_path):
    sym, params = good
    write_params(params, {"fc_weight": np.ones((3, 4))})
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "fc_bias", "missing")


def test_shape_mismatch_between_symbol_and_params(good, tmp_path):
    sym, params = good
    write_symbol(sym, weight_shape=(3, 5))
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "fc_weight", "(3, 4)", "(3, 5)")


def test_shape_mismatch_with_node_attributes(good, tmp_path):
    sym, params = good
    write_params(params, {"fc_weight": np.ones((2, 4)), "fc_bias": np.zeros(2)})  # num_hidden is 3
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "fc_weight", "(2, 4)")


def test_unknown_operator_names_op_and_node(good, tmp_path):
    sym, params = good
    data = json.loads(sym.read_text())
    data["nodes"][3]["op"] = "MyCustomOp"
    sym.write_text(json.dumps(data))
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "MyCustomOp", "'fc'")


def test_sparse_storage_is_refused(good, tmp_path):
    sym, params = good
    raw = bytearray(params.read_bytes())
    raw[28:32] = struct.pack("<i", 1)  # first array: row_sparse storage
    params.write_bytes(bytes(raw))
    assert_clean(export(sym, params, tmp_path / "o.onnx"), tmp_path / "o.onnx", "row_sparse")


def test_missing_input_shape_names_the_input(good, tmp_path):
    r = run_cli("export", *good, "-o", tmp_path / "o.onnx")
    assert_clean(r, tmp_path / "o.onnx", "--input-shape data=")


def test_opset_out_of_range(good, tmp_path):
    assert_clean(export(*good, tmp_path / "o.onnx", "--opset", "9"), tmp_path / "o.onnx", "opsets 13 to 21")


def test_every_unknown_operator_in_one_error(good, tmp_path):
    """The exporter checks the whole symbol first: two unknown ops, one error naming both."""
    sym, params = good
    data = json.loads(sym.read_text())
    data["nodes"][3]["op"] = "MyCustomOp"
    data["nodes"].append({"op": "OtherCustomOp", "name": "post", "inputs": [[3, 0, 0]]})
    data["heads"] = [[4, 0, 0]]
    sym.write_text(json.dumps(data))
    r = export(sym, params, tmp_path / "o.onnx")
    assert_clean(r, tmp_path / "o.onnx", "MyCustomOp (node 'fc')", "OtherCustomOp (node 'post')", "opset 17")


@pytest.mark.parametrize("shape", ["data=1,5", "data=2,3"])
def test_input_shape_that_contradicts_the_weights_says_so(good, tmp_path, shape):
    # fc_weight is [3, 4]: data 5 wide was answered with "pass --input-shape", which had been passed (#27 item 8)
    sym, params = good
    out = tmp_path / "out.onnx"
    r = run_cli("export", sym, params, "-o", out, "--input-shape", shape)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "exported model is inconsistent" in r.stderr and "pass --input-shape" not in r.stderr, r.stderr
    assert not out.exists()


def test_input_shape_naming_no_input_is_refused(good, tmp_path):
    sym, params = good
    out = tmp_path / "out.onnx"
    r = export(sym, params, out, "--input-shape", "nosuch=1,4")
    assert r.returncode == 2 and "--input-shape names nosuch" in r.stderr and "its inputs: data" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
