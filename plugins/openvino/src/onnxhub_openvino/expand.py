"""Operators OpenVINO lacks, replaced by the function bodies ONNX defines for them.

Many newer ONNX operators (LinearAttention, SwiGLU, Celu for float16, ...) are defined
as functions of older ones. Where OpenVINO's ONNX frontend has no rule for such an
operator, the nodes are turned into model-local functions (the schema's body for the
model's opset, with the node's attributes or the schema's defaults) and inlined by
``onnx.inliner``, the way ONNX's own ``_expanded`` test models are made.
"""

from __future__ import annotations

import onnx
import onnx.inliner
from onnx import defs, helper, shape_inference

DOMAIN = "onnxhub.expanded"  # the local functions' domain while they are inlined


def expand_functions(model: onnx.ModelProto, ops: set[str]) -> onnx.ModelProto | None:
    """``model`` with its top-level nodes of ``ops`` replaced by their ONNX function bodies.

    ``None`` when none of those nodes has a function body (or inlining fails).
    """
    opsets = {("" if i.domain == "ai.onnx" else i.domain): i.version for i in model.opset_import}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    types = None
    functions = []
    for k, node in enumerate(out.graph.node):
        domain = "" if node.domain == "ai.onnx" else node.domain
        if node.op_type not in ops or domain not in opsets:
            continue
        try:
            schema = defs.get_schema(node.op_type, opsets[domain], domain)
        except defs.SchemaError:
            continue
        if schema.has_context_dependent_function and types is None:
            types = _value_types(model)
        fn = _body(schema, node, opsets[domain], types)
        if fn is None:
            continue
        fn.name, fn.domain = f"{node.op_type}_{k}", DOMAIN
        given = {a.name for a in node.attribute}
        for name, attr in schema.attributes.items():  # the inliner knows only what the node states
            if name not in given and attr.default_value.type:
                default = node.attribute.add()
                default.CopyFrom(attr.default_value)
                default.name = name
        node.op_type, node.domain = fn.name, DOMAIN
        functions.append(fn)
    if not functions:
        return None
    out.functions.extend(functions)
    out.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    try:
        inlined = onnx.inliner.inline_local_functions(out)
    except Exception:  # a body the inliner cannot place: the model stays unsupported
        return None
    keep = [i for i in inlined.opset_import if i.domain != DOMAIN]
    del inlined.opset_import[:]
    inlined.opset_import.extend(keep)
    return inlined


def _body(schema, node, opset: int, types) -> onnx.FunctionProto | None:
    """The schema's function body for ``opset``, or ``None``."""
    fn = onnx.FunctionProto()
    if schema.has_function:
        versions = [v for v in schema.function_opset_versions if v <= opset]
        if versions:
            fn.ParseFromString(schema.get_function_with_opset_version(max(versions)))
            return fn
    if schema.has_context_dependent_function:
        versions = [v for v in schema.context_dependent_function_opset_versions if v <= opset]
        if versions:
            inputs = [(types.get(name) or onnx.TypeProto()).SerializeToString() for name in node.input]
            try:
                fn.ParseFromString(schema.get_context_dependent_function_with_opset_version(
                    max(versions), node.SerializeToString(), inputs))
            except Exception:  # the function builder refuses these input types
                return None
            return fn
    return None


def _value_types(model: onnx.ModelProto) -> dict:
    """Every top-level value's type that shape inference finds (context-dependent bodies need input types)."""
    try:
        graph = shape_inference.infer_shapes(model).graph
    except Exception:
        graph = model.graph
    types = {t.name: helper.make_tensor_type_proto(t.data_type, list(t.dims)) for t in graph.initializer}
    types.update((v.name, v.type) for v in [*graph.input, *graph.value_info, *graph.output])
    return types
