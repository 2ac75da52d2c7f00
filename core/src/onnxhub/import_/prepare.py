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

from ..errors import UnsupportedModel, UsageError
from .info import ONNX_DOMAINS, constant_value, elem_types, model_opset, node_domains, shape_table, used_names

# Shape arithmetic that folds when its inputs are constant: never layers that compute on
# activations (those stay the framework's to run).
FOLDABLE = frozenset({
    "Abs", "Add", "Cast", "CastLike", "Ceil", "Concat", "Constant", "ConstantOfShape", "Div", "Equal", "Expand",
    "Floor", "Gather", "Identity", "Max", "Min", "Mul", "Neg", "Range", "ReduceProd", "Reshape", "Slice",
    "Squeeze", "Sub", "Unsqueeze", "Where",
})


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
    """
    caller = model
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    check_domains(model, domains, where)
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


def infer_shapes(model: ModelProto) -> ModelProto:
    """``onnx.shape_inference`` with value propagation (a copy; shapes of Shape->... chains known)."""
    return onnx.shape_inference.infer_shapes(model, data_prop=True)


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
        elif node.op_type in FOLDABLE and all(i in consts for i in node.input if i):
            try:
                value = ReferenceEvaluator(node, opsets={"": opset}).run(None, {i: consts[i] for i in node.input if i})
            except Exception:  # an input form the reference kernel refuses: keep the node
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
        value = self[name] = numpy_helper.to_array(self._protos[name])
        return value
