"""Bring an ONNX model into an importer's reach before its operator table sees it.

An importer's table covers a window of opsets (``OpTable`` registrations with
``since``/``until``) and turns ops into the framework's layers one by one. Four steps make
most models fit that mould, whatever the framework:

1. operators of other domains are refused (model-local functions are inlined first);
2. ``onnx.version_converter`` brings the ai.onnx opset into the window;
3. input shapes are fixed (given ones; free dims such as a batch become 1);
4. shapes are inferred (with value propagation) and shape-only subgraphs, e.g.
   ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``, are folded to constants, so a
   framework without dynamic shapes sees ``Reshape(x, [2, -1])``.

The caller's model is never modified.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx.inliner
import onnx.version_converter
from onnx import ModelProto, helper, numpy_helper

from ..errors import InvalidModel, UnsupportedModel, UsageError
from .info import ONNX_DOMAINS, constant_value, elem_types, model_opset, node_domains, shape_table, tensor_array, used_names

# Shape arithmetic that folds when its inputs are constant: never layers that compute on
# activations (those stay the framework's to run).
FOLDABLE = frozenset({
    "Abs", "Add", "Cast", "CastLike", "Ceil", "Concat", "Constant", "ConstantOfShape", "Div", "Equal", "Expand",
    "Floor", "Gather", "Identity", "Max", "Min", "Mul", "Neg", "Range", "ReduceProd", "Reshape", "Slice",
    "Squeeze", "Sub", "Unsqueeze", "Where",
})
# Folding also makes weights (a ConstantOfShape of a light model's conv weights), but a folded tensor
# larger than this many bytes is left to the framework: it would be copied into the model's protobuf
# (2 GiB at most), and a hostile model could fill memory with it.
MAX_FOLDED_BYTES = 2**30


def prepare_model(model: ModelProto, *, min_opset: int, max_opset: int, input_shapes=None,
                  where: str = "the importer", domains=ONNX_DOMAINS, fold: bool = True) -> ModelProto:
    """A copy of ``model`` ready for an importer whose table covers opsets ``min_opset..max_opset``.

    :param input_shapes: ``{input name: dims}`` (or the CLI's ``["x=1,3,224,224"]``) fixing
        input shapes; free dims of other inputs become 1.
    :param where: who imports, for messages ("the MXNet importer").
    :param domains: operator domains the importer takes ("" and "ai.onnx" are the same).
    :param fold: fold shape-only subgraphs to constants (shapes are inferred either way).
    :raises UnsupportedModel: an operator domain outside ``domains``, no ai.onnx opset, or an
        opset the version converter cannot bring into the window.
    :raises UsageError: ``input_shapes`` names no input or gives the wrong rank.
    :raises InvalidModel: types ONNX's type inference rejects (``Add(float, int32)``).
    """
    from ..modelio import check_types

    caller = model
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    check_domains(model, domains, where)
    check_types(model, where)  # a framework would take a mistyped graph and convert silently
    converted = to_opset_window(model, min_opset, max_opset, where)
    if converted is caller:  # steps 3-4 edit in place: never the caller's proto
        converted = ModelProto()
        converted.CopyFrom(model)
    fix_input_shapes(converted, input_shapes, where)
    inferred = infer_shapes(converted)
    return fold_constants(inferred) if fold else inferred


def check_domains(model: ModelProto, domains=ONNX_DOMAINS, where: str = "the importer") -> None:
    """Refuse, naming them, the operator domains (and their ops) outside ``domains``."""
    allowed = {"" if d == "ai.onnx" else d for d in domains}
    foreign = {d: ops for d, ops in node_domains(model.graph).items() if d not in allowed}
    if foreign:
        used = "; ".join(f"{d!r} ({', '.join(sorted(ops))})" for d, ops in sorted(foreign.items()))
        takes = ", ".join(sorted(d or "ai.onnx" for d in allowed))
        raise UnsupportedModel(f"{where} takes operators of domain {takes} only; the model uses {used}")


def to_opset_window(model: ModelProto, min_opset: int, max_opset: int, where: str = "the importer") -> ModelProto:
    """``model`` itself when its ai.onnx opset is in the window, else a converted copy."""
    opset = model_opset(model)
    if opset is None:
        raise UnsupportedModel("the model imports no ai.onnx opset")
    if min_opset <= opset <= max_opset:
        return model
    target = min_opset if opset < min_opset else max_opset
    try:
        converted = onnx.version_converter.convert_version(model, target)
    except Exception as exc:  # the converter raises bare RuntimeErrors/ConvertErrors with C++ text
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = reason.rsplit("failed: ", 1)[-1][:200]  # drop the C++ assertion's file:line prefix
        raise UnsupportedModel(f"{where} takes opsets {min_opset}-{max_opset}; converting the model's opset "
                               f"{opset} to {target} failed: {reason}") from exc
    if model_opset(converted) != target:
        raise UnsupportedModel(f"{where} takes opsets {min_opset}-{max_opset}; the version converter left "
                               f"opset {model_opset(converted)}")
    return converted


def fix_input_shapes(model: ModelProto, input_shapes=None, where: str = "the importer", free_dim: int = 1) -> None:
    """Set the shapes of the model's inputs in place: given ones whole, free dims of others to ``free_dim``.

    Free dims are fixed so shape subgraphs fold; importers whose output must stay general
    in a dim should take it from ``input_shapes`` again at run time (as a backend's fast
    path does, one import per input signature).
    """
    from ..export.shapes import parse_shapes

    given = parse_shapes(input_shapes or {})
    inits = {t.name for t in model.graph.initializer}
    inputs = {vi.name: vi for vi in model.graph.input if vi.name not in inits}
    unknown = sorted(set(given) - set(inputs) - inits)
    if unknown:
        raise UsageError(f"{where}: the model has no input {', '.join(map(repr, unknown))} "
                         f"(inputs: {', '.join(inputs) or 'none'})")
    for name, vi in inputs.items():
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            continue
        if name in given:
            dims = given[name]
            if t.HasField("shape") and len(t.shape.dim) != len(dims):
                raise UsageError(f"{where}: input {name!r} has rank {len(t.shape.dim)}, not {len(dims)} "
                                 f"as the shape {list(dims)} given for it")
            t.shape.ClearField("dim")
            for d in dims:
                t.shape.dim.add().dim_value = int(d)
        else:
            for d in t.shape.dim:
                if not d.HasField("dim_value"):
                    d.dim_value = free_dim


# Value propagation is for shape tensors; ONNX's propagation of Concat (and others) materializes every
# element of a 1-D tensor, so a hostile model with a [2^40] vector takes all memory (onnx 1.16-1.19).
MAX_PROPAGATED = 2**16


def infer_shapes(model: ModelProto) -> ModelProto:
    """``onnx.shape_inference`` with value propagation (a copy; shapes of Shape->... chains known).

    Plain inference first; value propagation only when no tensor of rank <= 1 is longer than
    ``MAX_PROPAGATED`` (such a tensor is no shape, and propagating it would exhaust memory).
    """
    clear_negative_dims(model)
    try:
        plain = onnx.shape_inference.infer_shapes(model)
    except (ValueError, onnx.shape_inference.InferenceError) as exc:  # e.g. "Invalid tensor data type 127."
        raise InvalidModel(f"ONNX shape inference fails on the model: {_first_line(exc)}") from None
    g = plain.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim if vi.type.HasField("tensor_type") else ()
        if len(dims) <= 1 and any(d.HasField("dim_value") and d.dim_value > MAX_PROPAGATED for d in dims):
            return plain
    for t in g.initializer:
        if len(t.dims) <= 1 and any(d > MAX_PROPAGATED for d in t.dims):
            return plain
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except (ValueError, onnx.shape_inference.InferenceError) as exc:
        raise InvalidModel(f"ONNX shape inference fails on the model: {_first_line(exc)}") from None


def clear_negative_dims(model: ModelProto) -> None:
    """Make a negative ``dim_value`` (which onnx.checker lets through) an unknown dim, in place: ONNX's
    shape inference asserts on some (Slice's clamp: an abort, not an exception)."""
    g = model.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.HasField("tensor_type"):
            for d in vi.type.tensor_type.shape.dim:
                if d.HasField("dim_value") and d.dim_value < 0:
                    d.ClearField("dim_value")


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fold_constants(model: ModelProto, passes: int = 3) -> ModelProto:
    """Fold nodes computable from constants and known shapes into initializers.

    ``model`` must carry inferred shapes (``infer_shapes``); it is edited in place and
    returned, or a re-inferred copy of it is. Folds ``Constant`` nodes,
    ``Shape``/``Size`` of tensors with known dims, ``CastLike`` to a known type, and any op
    of ``FOLDABLE`` whose inputs are all constant (ONNX's reference kernels evaluate it).
    Initializers nothing reads any more are dropped. Shapes are inferred again when a pass
    leaves a ``Shape`` it could not fold (folding may have made it static).
    """
    for _ in range(passes):
        stuck = _fold_pass(model)
        if not stuck:
            break
        model = infer_shapes(model)
    _drop_unused(model)
    return model


def _fold_pass(model: ModelProto) -> bool:
    """One pass in graph order; True when something folded and a Shape/Size is still left."""
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    opset = model_opset(model)
    shapes, types = shape_table(model), elem_types(model)
    consts = _Constants(graph.initializer)
    kept, folded = [], {}
    for node in graph.node:
        value = None
        if node.domain not in ONNX_DOMAINS:
            pass
        elif node.op_type == "Constant":
            value = constant_value(node)
            value = None if value is None else [value]
        elif node.op_type in ("Shape", "Size"):
            value = _shape_value(node, shapes.get(node.input[0]))
        elif node.op_type == "CastLike" and node.input[0] in consts and types.get(node.input[1]):
            value = [consts[node.input[0]].astype(helper.tensor_dtype_to_np_dtype(types[node.input[1]]))]
        elif node.op_type in FOLDABLE and all(i in consts for i in node.input if i) and _small(node, shapes):
            try:
                value = ReferenceEvaluator(node, opsets={"": opset}).run(None, {i: consts[i] for i in node.input if i})
            except Exception:  # an input form the reference kernel refuses (or memory runs out): keep the node
                value = None
            if value is not None and any(np.asarray(v).nbytes > MAX_FOLDED_BYTES for v in value):
                value = None
        if value is None:
            kept.append(node)
            continue
        for name, v in zip(node.output, value):
            if name:
                consts[name] = folded[name] = np.asarray(v)
    if not folded:
        return False
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in folded.items())
    return any(n.op_type in ("Shape", "Size") and n.domain in ONNX_DOMAINS for n in kept)


def _small(node, shapes) -> bool:
    """False when inference knows that an output of ``node`` is bigger than ``MAX_FOLDED_BYTES`` (counting 8
    bytes an element): such a node is not evaluated at all."""
    for out in node.output:
        dims = shapes.get(out)
        if dims is None or None in dims:
            continue
        size = 8
        for d in dims:
            size *= d
        if size > MAX_FOLDED_BYTES:
            return False
    return True


def _shape_value(node, dims):
    if node.op_type == "Size":
        return None if dims is None or None in dims else [np.array(int(np.prod(dims)), np.int64)]
    if dims is None:
        return None
    a = {x.name: x.i for x in node.attribute}
    part = dims[a.get("start", 0):a.get("end", len(dims))]  # ONNX clamps negatives as Python slices do
    return None if None in part else [np.array(part, np.int64)]


def _drop_unused(model: ModelProto) -> None:
    graph = model.graph
    used = used_names(graph) | {vi.name for vi in graph.input}
    dropped = {t.name for t in graph.initializer if t.name not in used}
    if not dropped:
        return
    keep = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    info = [vi for vi in graph.value_info if vi.name not in dropped]
    del graph.value_info[:]
    graph.value_info.extend(info)


class _Constants(dict):
    """Initializer arrays, converted on first use: folding reads few of a model's weights."""

    def __init__(self, initializers):
        super().__init__()
        self._protos = {t.name: t for t in initializers}

    def __contains__(self, name):
        return dict.__contains__(self, name) or name in self._protos

    def __missing__(self, name):
        value = self[name] = tensor_array(self._protos[name])
        return value
