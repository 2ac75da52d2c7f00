"""Issue #16, remainder: structurally malformed MXNet files, hostile numbers and converters that
must check what they read. Each case is exit 2 with one line naming what is wrong, and no output.

Runs ``onnxhub.cli.main`` in-process (file descriptors captured), without MXNet.
"""

import json
import struct

import numpy as np
import pytest
from test_bad_input import write_params, write_symbol

from onnxhub.cli.main import main


@pytest.fixture
def files(tmp_path):
    write_symbol(tmp_path / "net-symbol.json")
    write_params(tmp_path / "net-0000.params", {"fc_weight": np.ones((3, 4)), "fc_bias": np.zeros(3)})
    return tmp_path / "net-symbol.json", tmp_path / "net-0000.params"


def _symbol(path):
    return json.loads(path.read_text())


def _export(capfd, sym, params, out, *extra):
    code = main(["export", str(sym), str(params), "-o", str(out), "--input-shape", "data=1,4", *extra])
    return code, capfd.readouterr().err


def _refused(capfd, sym, params, *fragments):
    out = sym.parent / "out.onnx"
    code, err = _export(capfd, sym, params, out)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxhub: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert sorted(p.name for p in sym.parent.iterdir()) == sorted([sym.name, params.name]), "a file was left"
    return lines[0]


def _edit(sym, fn):
    data = _symbol(sym)
    fn(data)
    sym.write_text(json.dumps(data))


def test_the_good_files_export(files, capfd, tmp_path):
    code, err = _export(capfd, *files, tmp_path / "out.onnx")
    assert code == 0, err


# -- 1. .params dims whose product wraps int64 ---------------------------------------------------
@pytest.mark.parametrize("dims", [(2**32, 2**32), (2**62, 4), (2**32, 2**32 + 1), (2**40, 0)])
def test_params_dims_product_that_wraps(files, capfd, dims):
    sym, params = files
    buf = bytearray(params.read_bytes())
    struct.pack_into("<2q", buf, 36, *dims)  # the first array (fc_weight, 3x4): dims after magic, stype, ndim
    params.write_bytes(bytes(buf))
    _refused(capfd, sym, params, "net-0000.params", "array #")


@pytest.mark.parametrize("ndim", [-2, 33, 2**31 - 1])
def test_params_nonsense_rank(files, capfd, ndim):
    sym, params = files
    buf = bytearray(params.read_bytes())
    struct.pack_into("<i", buf, 32, ndim)
    params.write_bytes(bytes(buf))
    _refused(capfd, sym, params, "net-0000.params")


# -- 2. malformed symbol JSON ---------------------------------------------------------------------
@pytest.mark.parametrize("node", [None, 3, "node", [], True])
def test_node_that_is_not_an_object(files, capfd, node):
    sym, params = files
    _edit(sym, lambda d: d["nodes"].__setitem__(1, node))
    _refused(capfd, sym, params, "node #1", "not an object")


@pytest.mark.parametrize("attrs", [["num_hidden", "3"], "num_hidden=3", 3])
def test_attrs_that_are_not_an_object(files, capfd, attrs):
    sym, params = files
    _edit(sym, lambda d: d["nodes"][3].__setitem__("attrs", attrs))
    _refused(capfd, sym, params, "node #3", "attributes")


@pytest.mark.parametrize("version", ["x", 1.5, None, [], 2.0])
def test_mxnet_version_that_is_not_an_integer(files, capfd, version):
    sym, params = files
    _edit(sym, lambda d: d["attrs"].__setitem__("mxnet_version", ["int", version]))
    _refused(capfd, sym, params, "mxnet_version")


@pytest.mark.parametrize("inputs", [[[0]], [[0, "a", 0]], ["0"], 5, [[0, 0, 0, 0, 0]], [[0, 1.5, 0]], [[0, 2**40]]])
def test_malformed_inputs(files, capfd, inputs):
    sym, params = files
    _edit(sym, lambda d: d["nodes"][3].__setitem__("inputs", inputs))
    _refused(capfd, sym, params, "node")


def test_reading_an_output_the_node_does_not_have(files, capfd):
    sym, params = files
    _edit(sym, lambda d: d["nodes"][3]["inputs"].__setitem__(0, [0, 1, 0]))  # data has one output
    _refused(capfd, sym, params, "'fc'", "output #1")


def test_symbol_attrs_that_are_a_list(files, capfd):
    sym, params = files
    _edit(sym, lambda d: d.__setitem__("attrs", ["mxnet_version", 10901]))
    _refused(capfd, sym, params, "'attrs'")


@pytest.mark.parametrize("where", ["top", "attr"])
def test_json_nested_100000_deep(files, capfd, where):
    sym, params = files
    deep = "[" * 100_000 + "]" * 100_000
    if where == "top":
        sym.write_text(deep)
    else:
        sym.write_text(sym.read_text().replace('"num_hidden": "3"', '"num_hidden": "3", "deep": ' + deep))
    _refused(capfd, sym, params, "net-symbol.json")


def test_attribute_value_that_is_not_a_string(files, capfd):
    sym, params = files
    _edit(sym, lambda d: d["nodes"][3]["attrs"].__setitem__("num_hidden", {"a": 1}))
    _refused(capfd, sym, params, "num_hidden")


# -- 3. inf / nan in numeric attributes -----------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999", "1e30"])
def test_non_finite_integer_attribute(files, capfd, value):
    sym, params = files
    _edit(sym, lambda d: d["nodes"][3]["attrs"].__setitem__("num_hidden", value))
    _refused(capfd, sym, params, "num_hidden")


def _conv(tmp_path, kernel="(3, 3)", extra=None, inputs=3):
    nodes = [{"op": "null", "name": "data", "inputs": []},
             {"op": "null", "name": "c_weight", "inputs": []},
             {"op": "null", "name": "c_bias", "inputs": []},
             {"op": "Convolution", "name": "c", "attrs": {"kernel": kernel, "num_filter": "2", **(extra or {})},
              "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]][:inputs]}]
    sym = tmp_path / "c-symbol.json"
    sym.write_text(json.dumps({"nodes": nodes, "arg_nodes": [0, 1, 2], "heads": [[3, 0, 0]]}))
    params = tmp_path / "c-0000.params"
    write_params(params, {"c_weight": np.ones((2, 1, 3, 3)), "c_bias": np.zeros(2)})
    return sym, params


def _export_conv(capfd, sym, params):
    out = sym.parent / "out.onnx"
    code = main(["export", str(sym), str(params), "-o", str(out), "--input-shape", "data=1,1,8,8"])
    return code, capfd.readouterr().err


def test_conv_exports(tmp_path, capfd):
    code, err = _export_conv(capfd, *_conv(tmp_path))
    assert code == 0, err


@pytest.mark.parametrize("extra", [{"eps": "inf"}, {"stride": "(inf, 1)"}, {"pad": "(nan, 0)"},
                                   {"dilate": "(1e999, 1)"}])
def test_non_finite_numbers_in_attributes(tmp_path, capfd, extra):
    sym, params = _conv(tmp_path, extra=extra)
    if "eps" in extra:  # eps is read by BatchNorm: give the graph one
        data = _symbol(sym)
        data["nodes"].append({"op": "BatchNorm", "name": "bn", "attrs": {"eps": "inf"},
                              "inputs": [[3, 0, 0], [1, 0, 0], [2, 0, 0], [2, 0, 0], [2, 0, 0]]})
        data["heads"] = [[4, 0, 0]]
        sym.write_text(json.dumps(data))
    code, err = _export_conv(capfd, sym, params)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "not a" in err and ("finite" in err or "integers" in err), err


# -- 4. converters check input counts and required attributes --------------------------------------
@pytest.mark.parametrize("kernel", ["(0, 0)", "(-1, 3)", "()"])
def test_conv_kernel_that_is_no_kernel(tmp_path, capfd, kernel):
    code, err = _export_conv(capfd, *_conv(tmp_path, kernel=kernel))
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "'c'" in err and "kernel" in err, err


def test_conv_without_its_kernel(tmp_path, capfd):
    sym, params = _conv(tmp_path)
    _edit(sym, lambda d: d["nodes"][3]["attrs"].pop("kernel"))
    code, err = _export_conv(capfd, sym, params)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "'c'" in err and "kernel" in err, err


@pytest.mark.parametrize("inputs", [0, 1])
def test_conv_with_missing_inputs(tmp_path, capfd, inputs):
    code, err = _export_conv(capfd, *_conv(tmp_path, inputs=inputs))
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "'c'" in err, err
