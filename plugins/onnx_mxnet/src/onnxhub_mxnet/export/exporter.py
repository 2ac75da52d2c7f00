"""MXNet symbol JSON + .params -> ONNX, without MXNet.

``EXPORTER.export(files, opset=17, input_shapes=None, static_batch=False)`` is the
target of the ``mxnet`` ExporterSpec (``export_streaming`` too, from onnxhub's
``Exporter``): it reads the files in pure Python, checks that the operator table
(``ops/``) covers every op of the symbol at the target opset, then walks the nodes in
order and lets each op function emit ONNX nodes.
"""

from __future__ import annotations

from pathlib import Path

from onnx import TensorProto

from onnxhub.errors import InvalidModel, UsageError
from onnxhub.export import Exporter, check_supported, parse_shapes

from ..formats.attrs import Attrs
from ..formats.params import load_params
from ..formats.symbol import load_symbol
from . import ops  # noqa: F401  (registers the op functions)
from .convert import TABLE, WHERE, MXNetBuilder

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


class MXNetExporter(Exporter):
    where = WHERE
    min_opset, max_opset = 13, 21
    table = TABLE

    def build(self, files, opset: int, input_shapes=None, static_batch: bool = False, **options):
        self.check_options(options)
        symbol_file, params_file = pick_files(files)
        symbol = load_symbol(symbol_file)
        params = load_params(params_file) if params_file else {}
        name = symbol_file.name.removesuffix(".json").removesuffix("-symbol")
        return build_model(symbol, params, opset, parse_shapes(input_shapes), static_batch, name)

    def run_files(self, files, inputs):
        """The user's files run by real MXNet (its runtime), for ``onnxhub convert --verify``."""
        from ..native import run_files

        return run_files(files, inputs)

    def group_files(self, paths):
        """One model per ``NAME-symbol.json`` with its latest ``NAME-EPOCH.params``."""
        from ..native import group_files

        return group_files(paths)


def build_model(symbol, params, opset, shapes, static_batch, name="mxnet"):
    """``(model without initializers, [(name, array)])`` for a loaded symbol and its weights."""
    check_supported(TABLE, ((n.op, n.name) for n in symbol.nodes if n.op != "null"), opset)
    ctx = MXNetBuilder(opset)
    consumers = _param_use(symbol, opset)
    tensors: dict[tuple[int, int], str] = {}
    for node in symbol.nodes:
        if node.op == "null":
            tensors[(node.index, 0)] = _variable(ctx, node, params, shapes, static_batch, consumers)
            continue
        entry = TABLE.lookup(node.op, opset)
        ctx.at_node(node)
        absent = [(src, out) for src, out in node.inputs if (src, out) not in tensors]
        if absent:
            src, out = absent[0]
            raise InvalidModel(f"node {node.name!r} ({node.op}) reads output #{out} of "
                               f"{symbol.nodes[src].name!r}, which does not have it")
        inputs = [tensors[(src, out)] for src, out in node.inputs]
        if any(t is None for t in inputs):
            bad = [symbol.nodes[src].name for (src, out), t in zip(node.inputs, inputs) if t is None]
            raise InvalidModel(f"node {node.name!r} ({node.op}) uses {bad}, missing from the .params file")
        if not entry.meta.get("lazy_zeros") and any(ctx.is_lazy_zeros(t) for t in inputs):
            raise ctx.unsupported("reading zeros of a run-time shape")
        outputs = _convert(entry, ctx, node, inputs)
        for i, out in enumerate(outputs):
            tensors[(node.index, i)] = ctx.rename(out, symbol.output_name(node.index, i))
    ctx.at_node(None)
    outputs = []
    for idx, out in symbol.heads:
        tensor = tensors.get((idx, out))
        if tensor is None:
            raise InvalidModel(f"output {symbol.nodes[idx].name!r} is not produced by any node")
        outputs.append(tensor)
    return ctx.finish(outputs, name, producer="onnxhub-mxnet")


def _convert(entry, ctx, node, inputs):
    """Run one op function; a symbol it cannot read (too few inputs, a missing or nonsensical
    attribute) is the model's fault: ``InvalidModel`` naming the node, not an internal error."""
    try:
        return entry.fn(ctx, node, inputs)
    except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        if not inputs and not entry.meta.get("lazy_zeros"):
            why = "has no inputs"
        else:
            why = f"has {len(inputs)} input(s) and attributes {dict(node.attrs)}"[:200]
        raise InvalidModel(f"node {node.name!r} ({node.op}) cannot be converted: it {why} "
                           f"({type(exc).__name__}: {exc})") from exc


def _param_use(symbol, opset) -> dict[int, bool]:
    """Variable index -> True when every consumer reads it in a weight slot (the table's ``params``)."""
    use: dict[int, bool] = {}
    for node in symbol.nodes:
        entry = TABLE.lookup(node.op, opset)
        slots = entry.meta.get("params", ()) if entry else ()
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
    return ctx.add_input(node.name, dtype, onnx_dims)


_INPUT_DTYPES = {"0": TensorProto.FLOAT, "1": TensorProto.DOUBLE, "2": TensorProto.FLOAT16, "3": TensorProto.UINT8,
                 "4": TensorProto.INT32, "5": TensorProto.INT8, "6": TensorProto.INT64}


EXPORTER = MXNetExporter()

__all__ = ["EXPORTER", "MXNetExporter", "build_model"]
