"""MXNet symbol JSON + .params -> ONNX, without MXNet.

``EXPORTER.export(files, opset=17, input_shapes=None, static_batch=False)`` is the
target of the ``mxnet`` ExporterSpec: it reads the files in pure Python, walks the
symbol's nodes in order and lets the operator table (``ops/``) emit ONNX nodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnxhub.errors import InvalidModel, UnsupportedOperator, UsageError

from . import ops  # noqa: F401  (registers the converters)
from ..formats.attrs import Attrs
from .convert import CONVERTERS, PARAM_SLOTS, Context
from ..formats.params import load_params
from ..formats.symbol import load_symbol

MIN_OPSET, MAX_OPSET = 13, 21
ACCEPTS_LAZY_ZEROS = {"RNN"}
PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta", "_moving_mean", "_moving_var", "_running_mean",
                  "_running_var", "_parameters", "_alpha")


def pick_files(files) -> tuple[Path, Path | None]:
    paths = [Path(f) for f in files]
    symbols = [p for p in paths if p.name.endswith(".json")]
    params = [p for p in paths if p.suffix == ".params"]
    others = [p for p in paths if p not in symbols and p not in params]
    if len(symbols) != 1 or len(params) > 1 or others:
        raise UsageError("the MXNet exporter takes one NAME-symbol.json and at most one NAME-EPOCH.params file, "
                         f"got: {', '.join(p.name for p in paths)}")
    return symbols[0], params[0] if params else None


def parse_shapes(spec) -> dict[str, list[int]]:
    """``["data=1,3,224,224", ...]`` or ``{"data": (1, 3, 224, 224)}`` -> ``{name: [dims]}``."""
    if isinstance(spec, dict):
        return {k: [int(d) for d in v] for k, v in spec.items()}
    out = {}
    for item in spec or []:
        name, sep, dims = str(item).partition("=")
        try:
            out[name] = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
        except ValueError:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224") from None
        if not sep or not name or not out[name]:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224")
    return out


class MXNetExporter:
    def export(self, files, opset: int = 17, input_shapes=None, static_batch: bool = False, **options):
        model, weights = self.export_streaming(files, opset, input_shapes, static_batch)
        model.graph.initializer.extend(numpy_helper.from_array(np.ascontiguousarray(a), n) for n, a in weights)
        return model

    def export_streaming(self, files, opset: int = 17, input_shapes=None, static_batch: bool = False, **options):
        """``(model without initializers, [(name, array)])``: onnxhub writes the weights one at a time,
        so a large model never sits in memory twice (see ``onnxhub.modelio.save_streaming``)."""
        if options:
            raise UsageError(f"unknown MXNet exporter option(s): {', '.join(sorted(options))}")
        if not MIN_OPSET <= opset <= MAX_OPSET:
            raise UsageError(f"the MXNet exporter writes opsets {MIN_OPSET} to {MAX_OPSET}, not {opset}")
        symbol_file, params_file = pick_files(files)
        symbol = load_symbol(symbol_file)
        params = load_params(params_file) if params_file else {}
        name = symbol_file.name.removesuffix(".json").removesuffix("-symbol")
        return build_model(symbol, params, opset, parse_shapes(input_shapes), static_batch, name)


def build_model(symbol, params, opset, shapes, static_batch, name="mxnet") -> tuple[onnx.ModelProto, list]:
    ctx = Context(opset, params)
    consumers = _param_use(symbol)
    tensors: dict[tuple[int, int], str] = {}
    for node in symbol.nodes:
        if node.op == "null":
            tensors[(node.index, 0)] = _variable(ctx, node, params, shapes, static_batch, consumers)
            continue
        fn = CONVERTERS.get(node.op)
        if fn is None:
            raise UnsupportedOperator(node.op, node=node.name, where="the MXNet exporter")
        ctx.node = node
        inputs = [tensors[(src, out)] for src, out in node.inputs]
        if any(t is None for t in inputs):
            bad = [symbol.nodes[src].name for (src, out), t in zip(node.inputs, inputs) if t is None]
            raise InvalidModel(f"node {node.name!r} ({node.op}) uses {bad}, missing from the .params file")
        if node.op not in ACCEPTS_LAZY_ZEROS and any(ctx.is_lazy_zeros(t) for t in inputs):
            raise UnsupportedOperator(f"{node.op} reading zeros of a run-time shape", node=node.name,
                                      where="the MXNet exporter")
        outputs = fn(ctx, node, inputs)
        for i, out in enumerate(outputs):
            tensors[(node.index, i)] = ctx.rename(out, symbol.output_name(node.index, i))
    ctx.node = None
    outputs = []
    for idx, out in symbol.heads:
        tensor = tensors.get((idx, out))
        if tensor is None:
            raise InvalidModel(f"output {symbol.nodes[idx].name!r} is not produced by any node")
        outputs.append(tensor)
    return _assemble(ctx, outputs, opset, name)


def _param_use(symbol) -> dict[int, bool]:
    """Variable index -> True when every consumer reads it in a weight slot."""
    use: dict[int, bool] = {}
    for node in symbol.nodes:
        slots = PARAM_SLOTS.get(node.op, ())
        for pos, (src, _) in enumerate(node.inputs):
            if symbol.nodes[src].op == "null":
                use[src] = use.get(src, True) and pos in slots
    return use


def _variable(ctx, node, params, shapes, static_batch, consumers):
    """A ``null`` node: a weight (initializer), a data input (graph input), or a missing weight (None)."""
    if node.name in params:
        arr = params[node.name]
        declared = Attrs(node).ints("__shape__")
        if declared and (len(declared) != arr.ndim or any(d and d != s for d, s in zip(declared, arr.shape))):
            raise InvalidModel(f"parameter {node.name!r} has shape {tuple(arr.shape)} in the .params file but "
                               f"{tuple(declared)} in the symbol")
        return ctx.add_param(node.name, arr)
    dims = shapes.get(node.name) or Attrs(node).ints("__shape__")
    if dims is None or not all(dims):
        if consumers.get(node.index) or node.name.endswith(PARAM_SUFFIXES):
            return None  # a weight the .params file lacks: the consumer reports it
        if node.index not in consumers:
            return ctx.claim(node.name)  # unused (e.g. a label): dropped when the graph is assembled
        raise UsageError(f"input {node.name!r} has no shape; pass --input-shape {node.name}=1,3,224,224 "
                         "(the first dimension stays dynamic unless --static-batch)")
    dtype = _INPUT_DTYPES.get(Attrs(node).str("__dtype__", "0"), TensorProto.FLOAT)
    onnx_dims = list(dims)
    if not static_batch and onnx_dims:
        onnx_dims[0] = "batch"
    ctx.inputs.append(helper.make_tensor_value_info(node.name, dtype, onnx_dims))
    return ctx.claim(node.name)


_INPUT_DTYPES = {"0": TensorProto.FLOAT, "1": TensorProto.DOUBLE, "2": TensorProto.FLOAT16, "3": TensorProto.UINT8,
                 "4": TensorProto.INT32, "5": TensorProto.INT8, "6": TensorProto.INT64}


def _assemble(ctx, outputs, opset, name) -> tuple[onnx.ModelProto, list]:
    """The model without initializers, and the initializers as ``(name, array)`` in graph order."""
    used = {i for n in ctx.nodes for i in n.input} | set(outputs)
    inputs = [vi for vi in ctx.inputs if vi.name in used]
    weights = [(n, arr) for n, arr in ctx.constants.items() if n in used]
    # Outputs need a type; shape inference supplies it, over weights described by type only.
    opsets = [helper.make_opsetid("", opset)]
    typed, small = ctx.inference_view({n for n, _ in weights})
    probe = helper.make_model(helper.make_graph(ctx.nodes, name, inputs + typed, [], small), opset_imports=opsets)
    try:
        inferred = {vi.name: vi for vi in onnx.shape_inference.infer_shapes(probe, data_prop=True).graph.value_info}
    except Exception:
        inferred = {}
    out_infos = []
    for out in outputs:
        if out not in inferred or not inferred[out].type.tensor_type.HasField("shape"):
            raise UsageError(f"cannot infer the rank of output {out!r}; pass --input-shape for every input")
        out_infos.append(inferred[out])
    graph = helper.make_graph(ctx.nodes, name, inputs, out_infos)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="onnxhub-mxnet",
                              ir_version=helper.find_min_ir_version_for(opsets))
    return model, weights


EXPORTER = MXNetExporter()

__all__ = ["EXPORTER", "MXNetExporter", "build_model"]
