"""CNTK v2 ``.model`` -> ONNX, without CNTK.

``EXPORTER.export(files, opset=17, input_shapes=None, static_batch=False)`` is the target
of the ``cntk`` ExporterSpec (``export_streaming`` too, from onnxhub's ``Exporter``): it
reads the file with ``formats.model``, checks that the operator table covers every
operator the graph needs (blocks the table does not convert as a whole are expanded into
their bodies), then converts the functions in dependency order.
"""

from __future__ import annotations

from pathlib import Path

from onnx import helper

from onnxhub.errors import InvalidModel, UsageError
from onnxhub.export import Exporter, check_supported, parse_shapes

from .. import native
from ..formats.model import read_model
from . import ops  # noqa: F401  (registers the op functions)
from .convert import BLOCKS, TABLE, WHERE, CNTKBuilder, Tensor
from .loops import Loop, convert_loop, schedule

# Functions whose outputs are their inputs (no ONNX node).
ALIASES = ("Combine",)


class CNTKExporter(Exporter):
    """Opsets 13-21 (the kit's window), default 17."""

    where = WHERE
    table = TABLE

    def build(self, files, opset: int, input_shapes=None, static_batch: bool = False, **options):
        self.check_options(options)
        paths = [Path(f) for f in files]
        if len(paths) != 1:
            raise UsageError(f"the CNTK exporter takes one .model file, got: {', '.join(p.name for p in paths)}")
        model = read_model(paths[0])
        name = model.name or paths[0].stem
        return build_model(model, opset, parse_shapes(input_shapes), static_batch, name)


def _converted(model, functions, opset):
    """``(op, function name)`` for every function the table converts (blocks expanded as needed)."""
    for fn in functions:
        if fn.op in ALIASES:
            continue
        if fn.block is not None and not TABLE.supports(fn.block.op_name, opset, domain=BLOCKS):
            yield from _converted(model, model.body(fn), opset)
        elif fn.block is None:
            yield fn.op, fn.name or fn.uid


def build_model(model, opset: int, shapes: dict, static_batch: bool = False, name: str = "cntk"):
    """``(model without initializers, [(name, array)])`` for a decoded ``.model``."""
    check_supported(TABLE, _converted(model, model.top_level(), opset), opset)
    ctx = CNTKBuilder(opset)
    env, fixed = {}, {"batch": 1} if static_batch else {}  # fixed: dynamic dim name -> size given
    for var in model.arguments:
        env[var.uid] = _input(ctx, var, shapes, fixed)
    unknown = sorted(set(shapes) - {t.name for t in env.values()})
    if unknown:
        raise UsageError(f"--input-shape names {', '.join(unknown)}; the model's inputs are "
                         f"{', '.join(t.name for t in env.values())}")
    _Converter(ctx, model).run(model.top_level(), env)
    ctx.at_function(None)
    outputs = [_output_name(ctx, model, env[uid], uid) for uid in model.outputs]
    onnx_model, weights = ctx.finish(outputs, name, producer="onnxhub-cntk")
    for info, uid in zip(onnx_model.graph.output, model.outputs):  # the layout's names, not inference's
        tensor = env[uid]
        dims = list(tensor.dyn) + [d if d is not None else f"{info.name}_dim{i}"
                                   for i, d in enumerate(tensor.shape, len(tensor.dyn))]
        dims = [fixed.get(d, d) for d in dims]
        info.type.CopyFrom(helper.make_tensor_type_proto(info.type.tensor_type.elem_type, dims))
    return onnx_model, weights


class _Converter:
    """Walks one model's functions, level by level, keeping ``env``: CNTK variable uid -> ``Tensor``."""

    def __init__(self, ctx, model):
        self.ctx, self.model = ctx, model

    def lookup(self, env: dict, uid: str) -> Tensor:
        """The tensor for a CNTK variable: converted already, or a parameter/constant added now."""
        if uid in env:
            return env[uid]
        var = self.model.variables.get(uid)
        if var is None or var.value is None:
            raise InvalidModel(f"{self.model.path}: {uid!r} is used before it is computed "
                               "(a cycle without a delay operator)")
        env[uid] = Tensor(self.ctx.add_param(uid, var.value), (), tuple(var.value.shape))
        return env[uid]

    def read_outside(self, uids: set) -> set:
        """Variable uids read by functions other than ``uids``, or leaving a block or the model."""
        model = self.model
        out = set(model.outputs)
        for fn in model.functions.values():
            if fn.uid not in uids:
                out.update(fn.inputs)
            if fn.block is not None:
                out.update(model.functions[fn.block.root].outputs)
        return out

    def run(self, functions: list, env: dict) -> None:
        """Convert one level (functions in dependency order), recurrences as Scan loops."""
        for item in schedule(self.model, functions):
            if isinstance(item, Loop):
                convert_loop(self, item, env)
            else:
                self.function(item, env)

    def function(self, fn, env: dict) -> None:
        ctx, model = self.ctx, self.model
        if fn.op in ALIASES:
            for out, src in zip(fn.outputs, fn.inputs):
                env[out] = self.lookup(env, src)
            return
        if fn.block is not None and not TABLE.supports(fn.block.op_name, ctx.opset, domain=BLOCKS):
            for inner, outer in fn.block.arguments.items():
                env[inner] = self.lookup(env, outer)
            self.run(model.body(fn), env)
            for out, inner in zip(fn.outputs, model.functions[fn.block.root].outputs):
                env[out] = env[inner]
            return
        inputs = [self.lookup(env, uid) for uid in fn.inputs]
        ctx.at_function(fn)
        try:
            if fn.block is not None:
                results = TABLE.lookup(fn.block.op_name, ctx.opset, domain=BLOCKS).fn(ctx, fn, inputs)
            else:
                results = TABLE.lookup(fn.op, ctx.opset).fn(ctx, fn, inputs)
        except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            # a .model the converter cannot read (too few inputs, a missing or nonsensical attribute)
            raise InvalidModel(f"function {fn.name or fn.uid!r} ({fn.op}) cannot be converted: it has "
                               f"{len(inputs)} input(s) ({type(exc).__name__}: {exc})") from exc
        for out, tensor in zip(fn.outputs, results):
            env[out] = tensor


def _input(ctx, var, shapes, fixed: dict):
    """A CNTK input as a graph input: ``[sequence, batch, *static]`` or ``[batch, *static]``."""
    if var.is_sparse:
        raise UsageError(f"input {var.name or var.uid!r} is sparse; only dense inputs are converted")
    if var.shape is None:
        raise UsageError(f"input {var.name or var.uid!r} has an unknown rank")
    dyn = ("sequence", "batch") if var.has_sequence_axis else ("batch",) if var.has_batch_axis else ()
    name = var.name if var.name and not ctx.taken(var.name) else var.uid
    dims = list(dyn) + [d if d is not None else f"{name}_dim{i}" for i, d in enumerate(var.shape, len(dyn))]
    given = shapes.get(name)
    if given is not None:
        if len(given) != len(dims) or any(isinstance(d, int) and d != g for d, g in zip(dims, given)):
            raise UsageError(f"--input-shape {name}={','.join(map(str, given))} does not fit the input's shape "
                             f"{tuple(dims)} (dynamic axes first, then CNTK's static shape)")
        fixed.update((d, g) for d, g in zip(dims, given) if d in dyn)
        dims = list(given)
    dims = [fixed.get(d, d) for d in dims]
    ctx.add_input(name, helper.np_dtype_to_tensor_dtype(var.dtype), dims)
    shape = tuple(d if isinstance(d, int) else None for d in dims[len(dyn):])
    return Tensor(name, dyn, shape)


def _output_name(ctx, model, tensor, uid):
    """A graph output named after the CNTK function that computes it (through Combine), where that name is free."""
    fn, index = model.producer(uid)
    while fn.op == "Combine" and model.producer(fn.inputs[index]):
        fn, index = model.producer(fn.inputs[index])
    wanted = fn.name or fn.uid
    return ctx.rename(tensor.name, f"{wanted}_{index}" if len(fn.outputs) > 1 else wanted)


EXPORTER = CNTKExporter()
EXPORTER.run_files, EXPORTER.group_files = native.run_files, native.group_files  # convert --verify

__all__ = ["EXPORTER", "CNTKExporter", "build_model"]
