"""Importer `mxnet`: ONNX -> files plain MXNet loads; opset window; clean refusals."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import onnxhub
from onnxhub.testing import assert_close, run_cli

from conftest import run_onnx

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


@pytest.mark.runtime("mxnet")
@pytest.mark.parametrize("name", ["resnet50", "squeezenet", "bvlc_alexnet", "zfnet512", "densenet121", "inception_v2",
                                  "shufflenet"])
def test_onnx_model_zoo_light_models_import_into_plain_mxnet(mxnet, tmp_path, name):
    """Models at old opsets (brought into the window by onnx.version_converter) load and run in MXNet."""
    model = onnx.load(str(LIGHT / f"light_{name}.onnx"))
    old_opset = model.opset_import[0].version
    out = tmp_path / "mx"
    r = run_cli("import", LIGHT / f"light_{name}.onnx", "--to", "mxnet", "-o", out)
    assert r.returncode == 0, r.stderr
    symbol = next(out.glob("*-symbol.json"))
    params = next(out.glob("*.params"))
    inits = {t.name for t in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in inits)
    shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    _, back = mxnet.call("plain_forward", {"symbol": str(symbol), "params": str(params), "input": inp.name},
                         {"x": x}, timeout=600)
    (want,) = run_onnx(model, {inp.name: x})[:1]
    assert_close(back["y"], want, what=f"light_{name} (opset {old_opset}) imported into MXNet")


def test_import_refuses_to_overwrite_and_writes_atomically(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    out = tmp_path / "out"
    assert run_cli("import", path, "--to", "mxnet", "-o", out).returncode == 0
    # the MXNet files, and onnxhub's marker that lets a later --force replace only its own output
    assert sorted(p.name for p in out.iterdir()) == [".onnxhub-output.json", "tiny-0000.params", "tiny-symbol.json"]
    r = run_cli("import", path, "--to", "mxnet", "-o", out)
    assert r.returncode == 2 and "--force" in r.stderr
    assert run_cli("import", path, "--to", "mxnet", "-o", out, "--force").returncode == 0


def test_unsupported_operator_is_one_line_and_leaves_nothing(tmp_path):
    graph = helper.make_graph([helper.make_node("DFT", ["x"], ["y"], name="fourier")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 2])])
    path = tmp_path / "dft.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    r = run_cli("import", path, "--to", "mxnet", "-o", tmp_path / "out")
    assert r.returncode == 2
    line = r.stderr.strip().splitlines()
    assert len(line) == 1 and "DFT" in line[0] and "'fourier'" in line[0] and "opset 17" in line[0]
    assert not (tmp_path / "out").exists()


def test_every_unsupported_operator_is_named_in_one_error(tmp_path):
    """Two ops outside the importer's table: one message naming both (exit 2), not the first only."""
    nodes = [helper.make_node("Round", ["x"], ["r"], name="rounding"), helper.make_node("Relu", ["r"], ["a"]),
             helper.make_node("Tan", ["a"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "gaps.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    r = run_cli("import", path, "--to", "mxnet", "-o", tmp_path / "out")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "Round, Tan" in line and "'rounding'" in line and "MXNet importer" in line
    assert not (tmp_path / "out").exists()


def test_opset_forms_are_separate_registrations():
    """Axes moved from attribute to input at opset 18 (ReduceMean) and Pad gained an axes input."""
    from onnxhub_mxnet.import_.ops import TABLE

    assert TABLE.get("ReduceMean", 17) is not TABLE.get("ReduceMean", 18)
    assert TABLE.get("ReduceSum", 13) is TABLE.get("ReduceMean", 18)
    assert TABLE.get("Pad", 17) is not TABLE.get("Pad", 18)
    assert not TABLE.supports("Squeeze", 12)  # prepare_model never asks below 13


def test_reduce_and_pad_forms_import_at_both_sides_of_opset_18():
    """The same graph at opset 17 and 21 writes the same MXNet operators."""
    import json

    from onnx import numpy_helper
    from onnxhub_mxnet.import_.importer import convert

    def model(opset):
        axes = numpy_helper.from_array(np.array([2, 3], np.int64), "axes")
        pads = numpy_helper.from_array(np.array([1, 1, 2, 2], np.int64), "pads")
        mean = helper.make_node("ReduceMean", ["p", "axes"] if opset >= 18 else ["p"], ["y"], keepdims=1,
                                **({} if opset >= 18 else {"axes": [2, 3]}))
        pad = (helper.make_node("Pad", ["x", "pads", "", "axes"], ["p"], mode="edge") if opset >= 18 else
               helper.make_node("Pad", ["x", "full"], ["p"], mode="edge"))
        full = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 2, 2], np.int64), "full")
        graph = helper.make_graph([pad, mean], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 1])],
                                  [axes, pads] if opset >= 18 else [full])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    def ops(opset):
        nodes = json.loads(convert(model(opset))[0])["nodes"]
        return [(n["op"], n.get("attrs")) for n in nodes if n["op"] != "null"]

    assert ops(17) == ops(21)
    assert ops(21)[0] == ("Pad", {"mode": "edge", "pad_width": "(0, 0, 0, 0, 1, 2, 1, 2)", "constant_value": "0.0"})


def test_shape_subgraph_is_folded(tmp_path):
    """Shape -> Gather -> Concat -> Reshape becomes a constant Reshape for the known input shape."""
    from onnx import numpy_helper
    from onnxhub_mxnet.import_.importer import convert

    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Concat", ["n", "minus_one"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])],
                              [numpy_helper.from_array(np.array([0], np.int64), "zero"),
                               numpy_helper.from_array(np.array([-1], np.int64), "minus_one")])
    symbol, params, inputs = convert(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    import json

    ops = [n["op"] for n in json.loads(symbol)["nodes"] if n["op"] != "null"]
    assert ops == ["Reshape"] and inputs == ["x"]
    assert '"shape": "(2, -1)"' in symbol


@pytest.mark.runtime("mxnet")
def test_backend_graph_executor_caches_one_binding_per_shape(mxnet, tmp_path):
    prefix = str(tmp_path / "m")
    _, truth = mxnet.call("zoo", {"name": "mobilenetv2_0.25", "prefix": prefix, "seed": 4, "batch": 2})
    model = onnxhub.export_model([prefix + "-symbol.json", prefix + "-0000.params"], source="mxnet",
                                 input_shapes=["data=1,3,224,224"])
    rep = onnxhub.get_backend("mxnet").prepare(model)
    for batch in (2, 1, 2):
        (y,) = rep.run([truth["x"][:batch]])
        assert_close(y, truth["y"][:batch], what=f"batch {batch}")
    assert len(rep.executors) == 2  # batch 2 and batch 1, each bound once


def test_import_takes_input_shape_and_options(tmp_path):
    """`onnxhub import` passes --input-shape (parsed once) and --option KEY=VALUE to the importer."""
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    r = run_cli("import", path, "--to", "mxnet", "-o", tmp_path / "out", "--input-shape", "x=5,3",
                "--option", 'name="mine"')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "mine-symbol.json").is_file() and (tmp_path / "out" / "mine-0000.params").is_file()
    r = run_cli("import", path, "--to", "mxnet", "-o", tmp_path / "out2", "--option", "bogus=1")
    assert r.returncode == 2 and "unknown MXNet importer option(s): bogus" in r.stderr
    assert not (tmp_path / "out2").exists()
