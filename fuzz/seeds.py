"""Small valid inputs that the mutators start from, built in code (no binary fixtures).

Each seed is ``Seed(name, files, argv)``: ``files`` maps file names to bytes written into
the mutant's folder, ``argv`` is the ``onnxhub`` command run there (``{backend}`` is filled
in per mutant for ONNX seeds).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Seed:
    name: str
    files: dict[str, bytes]
    argv: list[str]
    extra: dict = field(default_factory=dict)


# -- ONNX --------------------------------------------------------------------------------
def onnx_models() -> dict:
    """``{name: ModelProto}``: a few small graphs touching convolutions, shapes, gathers and generators."""
    import numpy as np
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper

    def model(name, nodes, inputs, outputs, inits=(), opset=17):
        graph = helper.make_graph(nodes, name, inputs, outputs,
                                  [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)

    vi = helper.make_tensor_value_info
    rng = np.random.default_rng(0)
    f32 = np.float32
    out = {}
    out["conv"] = model("conv", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ], [vi("x", T.FLOAT, [1, 2, 6, 6])], [vi("y", T.FLOAT, [1, 3, 3, 3])],
        [("w", rng.standard_normal((3, 2, 3, 3)).astype(f32)), ("b", np.zeros(3, f32))])
    out["mlp"] = model("mlp", [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=-1),
    ], [vi("x", T.FLOAT, ["N", 4])], [vi("y", T.FLOAT, ["N", 3])],
        [("w", rng.standard_normal((4, 3)).astype(f32)), ("b", np.ones(3, f32))])
    out["shapes"] = model("shapes", [
        helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
        helper.make_node("Reshape", ["t", "s"], ["r"]),
        helper.make_node("Concat", ["r", "r"], ["c"], axis=0),
        helper.make_node("ReduceSum", ["c", "axes"], ["y"], keepdims=1),
    ], [vi("x", T.FLOAT, [2, 3, 4])], [vi("y", T.FLOAT, [1, 6])],
        [("s", np.array([4, 6], np.int64)), ("axes", np.array([0], np.int64))])
    out["gather"] = model("gather", [
        helper.make_node("Gather", ["x", "idx"], ["g"], axis=0),
        helper.make_node("Slice", ["g", "st", "en", "ax"], ["s"]),
        helper.make_node("Cast", ["s"], ["y"], to=T.INT64),
    ], [vi("x", T.FLOAT, [5, 4])], [vi("y", T.INT64, [3, 2])],
        [("idx", np.array([0, 2, 4], np.int64)), ("st", np.array([1], np.int64)),
         ("en", np.array([3], np.int64)), ("ax", np.array([1], np.int64))])
    out["generate"] = model("generate", [
        helper.make_node("Shape", ["x"], ["sh"]),
        helper.make_node("ConstantOfShape", ["sh"], ["z"], value=helper.make_tensor("v", T.FLOAT, [1], [0.5])),
        helper.make_node("Add", ["x", "z"], ["a"]),
        helper.make_node("Tile", ["a", "reps"], ["t"]),
        helper.make_node("Expand", ["t", "es"], ["y"]),
    ], [vi("x", T.FLOAT, [2, 3])], [vi("y", T.FLOAT, [2, 4, 6])],
        [("reps", np.array([2, 2], np.int64)), ("es", np.array([2, 1, 1], np.int64))])
    out["split"] = model("split", [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
        helper.make_node("Split", ["p", "sp"], ["a", "b"], axis=1),
        helper.make_node("Mul", ["a", "b"], ["y"]),
        helper.make_node("Resize", ["y", "", "scales"], ["z"], mode="nearest"),
    ], [vi("x", T.FLOAT, [1, 4, 2, 2])], [vi("z", T.FLOAT, [1, 2, 4, 4])],
        [("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), ("sp", np.array([2, 2], np.int64)),
         ("scales", np.array([1, 1, 1, 1], np.float32))])
    return out


def onnx_seeds() -> list[Seed]:
    return [Seed(name, {"model.onnx": m.SerializeToString()},
                 ["run", "model.onnx", "--random-inputs", "--backend", "{backend}", "-o", "out.npz"],
                 {"model": m}) for name, m in onnx_models().items()]


def import_seeds() -> list[Seed]:
    """The ONNX seeds again, imported into MXNet (``import model.onnx --to mxnet -o out``)."""
    import onnxhub_mxnet  # noqa: F401  (the target needs the plugin)

    return [Seed(f"import-{name}", {"model.onnx": m.SerializeToString()},
                 ["import", "model.onnx", "--to", "mxnet", "-o", "out"], {"model": m})
            for name, m in onnx_models().items()]


def verify_seeds() -> list[Seed]:
    """The ONNX seeds compared across two backends (``verify model.onnx --backends reference,onnxruntime``)."""
    return [Seed(f"verify-{name}", {"model.onnx": m.SerializeToString()},
                 ["verify", "model.onnx", "--backends", "reference,onnxruntime", "--random-inputs"], {"model": m})
            for name, m in onnx_models().items()]


# -- MXNet -------------------------------------------------------------------------------
def convert_seeds() -> list[Seed]:
    """The MXNet seeds through ``convert`` (one model: ``-o out``, straight into the folder)."""
    return [Seed(s.name.replace("mxnet-", "convert-"), s.files,
                 ["convert", "m-symbol.json", "m-0000.params", "--from", "mxnet", "--to", "onnx", "-o", "out",
                  *s.argv[s.argv.index("--input-shape"):]], s.extra) for s in mxnet_seeds()]


def inventory_seeds() -> list[Seed]:
    """The MXNet seeds as an inventory (``convert . ... -o out``: a folder, its own worker process)."""
    return [Seed(s.name.replace("mxnet-", "inventory-"), s.files,
                 ["convert", ".", "--from", "mxnet", "--to", "onnx", "-o", "out",
                  *s.argv[s.argv.index("--input-shape"):]], s.extra) for s in mxnet_seeds()]


def mxnet_seeds() -> list[Seed]:
    """Symbol JSON + .params written by the MXNet importer (pure Python) from ONNX seeds."""
    import tempfile

    from onnxhub_mxnet.formats.params import save_params
    from onnxhub_mxnet.import_.importer import convert

    seeds = []
    shapes = {"conv": "x=1,2,6,6", "mlp": "x=2,4", "shapes": "x=2,3,4", "gather": "x=5,4", "split": "x=1,4,2,2"}
    for name, model in onnx_models().items():
        if name not in shapes:
            continue
        try:
            symbol, params, _ = convert(model)
        except Exception:  # a seed the importer does not take is no seed
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.params"
            save_params(path, params)
            blob = path.read_bytes()
        seeds.append(Seed(f"mxnet-{name}", {"m-symbol.json": symbol.encode(), "m-0000.params": blob},
                          ["export", "m-symbol.json", "m-0000.params", "-o", "out.onnx", "--input-shape",
                           shapes[name]], {"symbol": json.loads(symbol)}))
    return seeds


# -- Caffe2 and CNTK (the plugins' own test fixtures) --------------------------------------
def _test_helper(plugin: str, module: str):
    folder = str(ROOT / "plugins" / plugin / "tests")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return __import__(module)


def caffe2_seeds() -> list[Seed]:
    nb = _test_helper("onnx_caffe2", "netdef_bytes")
    predict, init = nb.mlp()
    return [Seed("caffe2-mlp", {"predict_net.pb": predict.SerializeToString(), "init_net.pb": init.SerializeToString()},
                 ["export", "predict_net.pb", "init_net.pb", "--from", "caffe2", "-o", "out.onnx"])]


def cntk_seeds() -> list[Seed]:
    import numpy as np

    mb = _test_helper("onnx_cntk", "model_bytes")
    weight = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    return [Seed("cntk-tiny", {"m.model": mb.encode(mb.tiny_model(weight))},
                 ["export", "m.model", "--from", "cntk", "-o", "out.onnx"])]
