"""Caffe2 ``predict_net`` + ``init_net`` -> ONNX, without Caffe2.

``EXPORTER.export(files, opset=17, input_shapes=None, static_batch=False)`` is the target
of the ``caffe2`` ExporterSpec. The two NetDefs come in any order (the init net is the
one made only of fill ops); the init net's fills become initializers. A predict net alone
(Caffe2's frontend with ``init_net=None``) makes every blob it reads a graph input, each
shaped by ``--input-shape``, ``value_info.json`` or its first reader. Every op type of
the predict net is checked against the table before converting, so one run names every
gap. Blobs written more than once (in-place ops: ``Relu(x) -> x``) get a new ONNX name per
write; graph outputs keep their blob names.

The input: the blob ``--input-shape`` names, else the one in ``value_info.json`` beside
the nets (the Caffe2 model zoo's convention), else the predict net's first external input
that the init net does not fill, else (``mobile_exporter`` files, whose init net fills each
input with a ``[1, 1]`` zero placeholder) the first placeholder, whose fill is dropped.
Its shape: the one given, else the rank and channels its first reader implies
(``Conv``: ``[batch, C, height, width]``); the batch dimension is dynamic unless
``static_batch``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import helper

from onnxhub.errors import InvalidModel, UnsupportedOperator, UsageError
from onnxhub.export import Exporter, check_supported, parse_shapes

from .. import native
from ..formats.netdef import NO_INIT, fill_value, is_placeholder, read_pair, read_value_info
from ..formats.wire import release
from . import ops  # noqa: F401  (registers the op functions)
from .convert import TABLE, WHERE, Caffe2Builder, output_rank

# Outputs Caffe2 ops still make in test mode that only training reads: never graph outputs.
AUX_OUTPUTS = {"Concat": 1, "Dropout": 1, "LRN": 1, "Reshape": 1, "SpatialBN": 1, "LayerNorm": 1,
               "GroupNorm": 1, "InstanceNorm": 1, "MaxPool": 1, "Softmax": 1}
# Ops whose first reader tells the input's rank (and channels, from the weight's dim 1).
_CONV_LIKE = ("Conv", "Conv2D", "ConvTranspose", "SpatialBN", "MaxPool", "AveragePool", "LRN", "AffineChannel",
              "InstanceNorm", "GroupNorm", "ChannelShuffle", "ResizeNearest", "MaxPool2D", "AveragePool2D")


class Caffe2Exporter(Exporter):
    """Opsets 13-21 (the kit's window), default 17."""

    where = WHERE
    table = TABLE

    def build(self, files, opset: int, input_shapes=None, static_batch: bool = False, **options):
        self.check_options(options)
        paths = [Path(f) for f in files]
        if len(paths) not in (1, 2):
            raise UsageError("the Caffe2 exporter takes two files, predict_net and init_net (any order), or the "
                             f"predict_net alone; got {len(paths)}: {', '.join(p.name for p in paths) or 'none'}")
        predict, init = read_pair(paths)
        value_info = read_value_info(Path(predict.path).parent)
        return build_model(predict, init, opset, parse_shapes(input_shapes), static_batch, value_info)


def _choose_inputs(predict, init, shapes: dict, value_info: dict | None) -> list:
    """The input blob names (see the module docstring)."""
    produced = {o for op in predict.ops for o in op.outputs}
    read = {i for op in predict.ops for i in op.inputs}
    filled = {o for op in init.ops for o in op.outputs}
    known = set(predict.external_input) | (read - produced)
    if init.path == NO_INIT:  # no weights: every blob the net reads and does not make is an input
        reads = [i for op in predict.ops for i in op.inputs if i not in produced]
        unknown = sorted(set(shapes) - known)
        if unknown:
            raise UsageError(f"--input-shape names {', '.join(unknown)}; the predict net reads "
                             f"{', '.join(dict.fromkeys(reads)) or 'nothing'}")
        return list(dict.fromkeys([b for b in predict.external_input if b in read] + reads))
    if shapes:
        unknown = sorted(set(shapes) - known)
        if unknown:
            raise UsageError(f"--input-shape names {', '.join(unknown)}; the predict net's external inputs are "
                             f"{', '.join(predict.external_input) or 'none'}")
        return list(shapes)
    if value_info:
        names = [n for n in value_info if n in known]
        if names:
            return names
    free = [b for b in predict.external_input if b not in filled and b in read]
    if free:
        return free[:1]
    fills = {op.outputs[0]: op for op in init.ops if op.outputs}
    holders = [b for b in predict.external_input if b in fills and is_placeholder(fills[b]) and b in read]
    if holders:
        return holders[:1]
    missing = sorted((read - produced) - filled - set(predict.external_input))
    raise InvalidModel(f"{predict.path}: cannot tell the input: every external input is filled by {init.path} "
                       "(name it with --input-shape NAME=dims)" + (f"; unfilled blobs: {missing}" if missing else ""))


def _guess_dims(predict, name: str, weights: dict) -> list | None:
    """``[batch, C, height, width]`` from the first reader of ``name`` (None when it cannot tell)."""
    for op in predict.ops:
        if name not in op.inputs:
            continue
        if op.type in ("Conv", "Conv2D", "ConvTranspose") and len(op.inputs) > 1 and op.inputs[0] == name:
            w = weights.get(op.inputs[1])
            if w is not None and w.ndim >= 3:
                group = int(op.arg("group", 1))
                channels = w.shape[0] if op.type == "ConvTranspose" else w.shape[1] * group
                return ["batch", int(channels)] + [f"{name}_dim{i}" for i in range(2, w.ndim)]
        if op.type in ("SpatialBN", "AffineChannel", "InstanceNorm", "PRelu") and len(op.inputs) > 1:
            w = weights.get(op.inputs[1])
            if w is not None and w.ndim == 1 and w.shape[0] > 1:
                return ["batch", int(w.shape[0]), f"{name}_dim2", f"{name}_dim3"]
        if op.type in ("FC", "FCTransposed") and len(op.inputs) > 1 and op.inputs[0] == name \
                and int(op.arg("axis", 1)) == 1:
            w = weights.get(op.inputs[1])
            if w is not None and w.ndim == 2:
                return ["batch", int(w.shape[1] if op.type == "FC" else w.shape[0])]
        if op.type in _CONV_LIKE:
            return ["batch", f"{name}_channels", f"{name}_dim2", f"{name}_dim3"]
        return None
    return None


def build_model(predict, init, opset: int, shapes: dict, static_batch: bool = False, value_info=None):
    """``(model without initializers, [(name, array)])`` for a predict net and its init net."""
    net_name = predict.name or Path(predict.path).name
    check_supported(TABLE, ((op.type, f"{net_name} op #{op.index}" + (f" {op.name}" if op.name else ""))
                            for op in predict.ops), opset)
    inputs = _choose_inputs(predict, init, shapes, value_info)
    fills = {}
    for op in init.ops:
        if op.outputs and op.outputs[0] not in inputs:  # an input's placeholder fill is dropped
            fills[op.outputs[0]] = op
    ctx = Caffe2Builder(opset)
    weights: dict = {}

    def weight(blob):
        if blob not in weights:
            weights[blob] = fill_value(fills[blob], init.path)
        return weights[blob]

    produced = {o for op in predict.ops for o in op.outputs}
    for op in predict.ops:  # weights first: their names are fixed, and input shapes are guessed from them
        for blob in op.inputs:
            if blob in fills and blob not in inputs and blob not in produced:
                weight(blob)
    env = {}
    for name in inputs:
        dims = shapes.get(name)
        if dims is None and value_info and name in value_info:
            dims = value_info[name][1]
        if dims is not None:
            dims = list(dims)
            if not static_batch and dims:
                dims[0] = "batch"
        else:
            dims = _guess_dims(predict, name, weights)
            if dims is None:
                raise UsageError(f"cannot tell the shape of input {name!r} from its first reader; "
                                 f"pass --input-shape {name}=dims")
        if static_batch and dims and dims[0] == "batch":
            dims[0] = 1
        dtype = value_info[name][0] if value_info and name in value_info else np.dtype(np.float32)
        env[name] = ctx.add_input(name, helper.np_dtype_to_tensor_dtype(dtype), dims)
    for blob, arr in weights.items():
        env[blob] = ctx.add_param(blob, arr)
    outputs = _graph_outputs(predict)
    for blob in outputs:
        ctx.claim(blob)
    last = {}
    for op in predict.ops:
        for blob in op.outputs:
            last[blob] = op.index
    dead = {}  # blob -> (op, output index) of an output only training computes
    for op in predict.ops:
        args = []
        for blob in op.inputs:
            if blob in dead:
                src, k = dead[blob]
                raise UnsupportedOperator(f"{op.type} reading output {k} of {src.type} {src.label!r} "
                                          "(computed only in training)", opset=opset, node=op.label, where=WHERE)
            if blob not in env:
                raise InvalidModel(f"{predict.path}: op #{op.index} {op.type} {op.label!r} reads blob {blob!r}, "
                                   f"which neither an earlier op nor {Path(init.path).name} provides "
                                   "(missing weights or the wrong init_net; a second input must be named with "
                                   "--input-shape, like the first)")
            args.append(env[blob])
        ctx.at_op(op)
        first_node = len(ctx.nodes)
        try:
            results = list(TABLE.lookup(op.type, opset).fn(ctx, op, args))
        except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            # a NetDef the converter cannot read (too few inputs, a missing or nonsensical argument)
            raise InvalidModel(f"{predict.path}: op #{op.index} {op.type} {op.label!r} cannot be converted: it has "
                               f"{len(args)} input(s) ({type(exc).__name__}: {exc})") from exc
        for k, blob in enumerate(op.outputs):
            tensor = results[k] if k < len(results) else None
            if tensor is None:
                dead[blob] = (op, k)
                env.pop(blob, None)
                continue
            dead.pop(blob, None)
            # the blob's own name for a graph output's last write, unless an input or a weight has it
            final = last[blob] == op.index and blob in outputs and blob not in inputs and blob not in weights
            env[blob] = _name_output(ctx, ctx.nodes[first_node:], tensor, blob, final)
        rank = output_rank(op, [ctx.rank_hint(t) for t in args])
        if rank is not None:
            for blob in op.outputs[:len(op.outputs) if op.type == "Split" else 1]:
                if blob in env and ctx.rank_hint(env[blob]) is None:
                    ctx.ranks[env[blob]] = rank
    ctx.at_op(None)
    names = []
    for blob in outputs:
        if blob not in env:
            if blob in dead:
                continue
            raise InvalidModel(f"{predict.path}: external output {blob!r} is not computed by any op")
        names.append(env[blob] if env[blob] == blob or blob in inputs else _alias(ctx, env[blob], blob))
    if not names:
        raise InvalidModel(f"{predict.path}: the predict net has no external_output to export")
    model, arrays = ctx.finish(names, predict.name or Path(predict.path).stem, producer="onnxhub-caffe2")
    spans = {blob: op.spans["values"] for blob, op in fills.items() if "values" in op.spans}
    return model, _Releasing(arrays, init.buffer, spans)


class _Releasing(list):
    """The ``(name, array)`` weights; iterating them hands the file pages of each weight that is a view on
    the memory-mapped init net back after it is used (``formats.wire.release``), so writing the model
    never holds the whole file in memory. Iterating again simply reads the pages back."""

    def __init__(self, items, buffer, spans):
        super().__init__(items)
        self.buffer, self.spans = buffer, spans

    def __iter__(self):
        for item in list.__iter__(self):
            yield item
            span = self.spans.get(item[0])
            if span is not None and self.buffer is not None:
                release(self.buffer, *span)


def _graph_outputs(predict) -> list:
    """The external outputs, less those that are training-only outputs of test-mode ops."""
    aux = set()
    for op in predict.ops:
        first_aux = AUX_OUTPUTS.get(op.type)
        if first_aux is not None:
            aux.update(op.outputs[first_aux:])
    read_later = {i for op in predict.ops for i in op.inputs}
    outs = [b for b in predict.external_output if b not in aux or b in read_later]
    return list(dict.fromkeys(outs))


def _name_output(ctx, nodes: list, tensor: str, blob: str, final: bool) -> str:
    """Name a tensor the op computed after its blob: the blob's own name for a graph output's last write,
    else a fresh name based on it (``conv1``, ``conv1_1`` after an in-place op). ``nodes`` are the op's nodes."""
    if not any(tensor in node.output for node in nodes):  # an input passed through (test-mode Dropout)
        return _alias(ctx, tensor, blob) if final else tensor
    wanted = blob if final else ctx.fresh(blob)
    for node in nodes:
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                if name == tensor:
                    field[i] = wanted
    return wanted


def _alias(ctx, tensor: str, blob: str) -> str:
    """An Identity named ``blob`` (a graph output that is a weight or an input passed through)."""
    taken = blob in ctx.constants or any(vi.name == blob for vi in ctx.inputs) or any(
        blob in node.output for node in ctx.nodes)
    return ctx.make("Identity", [tensor], [ctx.fresh(blob) if taken else ctx.claim(blob)])[0]


EXPORTER = Caffe2Exporter()
EXPORTER.run_files, EXPORTER.group_files = native.run_files, native.group_files  # convert --verify

__all__ = ["EXPORTER", "Caffe2Exporter", "build_model"]
