"""What an importer reads off an ONNX model: constants, shapes, element types, attributes.

Plain functions over ``onnx`` protos, meant for a model that ``prepare_model`` returned
(shapes inferred, shape subgraphs folded) but valid on any model.
"""

from __future__ import annotations

import numpy as np
from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, helper, numpy_helper

ONNX_DOMAINS = ("", "ai.onnx")


def tensor_array(t) -> np.ndarray:
    """``numpy_helper.to_array``, with data that does not fit the tensor's dims or dtype an ``InvalidModel``
    naming the tensor (onnx.checker lets some such tensors through)."""
    from ..errors import InvalidModel

    try:
        return numpy_helper.to_array(t)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, MemoryError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidModel(f"tensor {t.name!r} (dims {list(t.dims)}, data type {t.data_type}): its data does not "
                           f"fit ({first})") from None


def model_opset(model: ModelProto, domains=ONNX_DOMAINS) -> int | None:
    """The opset the model imports for ``domains`` (default ai.onnx), or None."""
    return next((i.version for i in model.opset_import if i.domain in domains), None)


def constants(model: ModelProto) -> dict[str, np.ndarray]:
    """``{name: array}`` of the main graph's initializers and ``Constant`` node outputs."""
    out = {t.name: tensor_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain in ONNX_DOMAINS:
            value = constant_value(node)
            if value is not None:
                out[node.output[0]] = value
    return out


def constant_value(node: NodeProto) -> np.ndarray | None:
    """The array a ``Constant`` node holds, typed as ONNX says (None for ``sparse_value``)."""
    for a in node.attribute:
        if a.name == "value":
            return tensor_array(a.t)
        if a.name in ("value_float", "value_floats"):
            return np.array(helper.get_attribute_value(a), np.float32)
        if a.name in ("value_int", "value_ints"):
            return np.array(helper.get_attribute_value(a), np.int64)
        if a.name in ("value_string", "value_strings"):
            return np.array(_text(helper.get_attribute_value(a)), dtype=object)
    return None


def shape_table(model: ModelProto) -> dict[str, list[int | None]]:
    """``{tensor name: [dims]}`` for every tensor whose rank is known; unknown dims are None."""
    table = {}
    graph = model.graph
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        if vi.type.HasField("tensor_type") and t.HasField("shape"):
            table[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    for init in graph.initializer:
        table[init.name] = list(init.dims)
    return table


def elem_types(model: ModelProto) -> dict[str, int]:
    """``{tensor name: TensorProto element type}`` for every tensor whose type is known."""
    graph = model.graph
    table = {vi.name: vi.type.tensor_type.elem_type for vi in list(graph.input) + list(graph.value_info) +
             list(graph.output) if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type}
    table.update((t.name, t.data_type) for t in graph.initializer)
    return table


def attributes(node: NodeProto) -> dict:
    """A node's attributes as Python values: strings as ``str``, tensors as arrays, graphs as protos."""
    out = {}
    for a in node.attribute:
        if a.type == AttributeProto.TENSOR:
            out[a.name] = tensor_array(a.t)
        elif a.type == AttributeProto.TENSORS:
            out[a.name] = [tensor_array(t) for t in a.tensors]
        else:
            out[a.name] = _text(helper.get_attribute_value(a))
    return out


def used_names(graph: GraphProto) -> set[str]:
    """Every tensor name the graph reads: node inputs (subgraphs included) and graph outputs."""
    names = {o.name for o in graph.output}
    for node in graph.node:
        names.update(i for i in node.input if i)
        for a in node.attribute:
            for sub in ([a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)):
                names |= used_names(sub)
    return names


def node_domains(graph: GraphProto) -> dict[str, set[str]]:
    """``{domain: {op types}}`` of every node, subgraphs included ("" for ai.onnx)."""
    out: dict[str, set[str]] = {}
    for node in graph.node:
        out.setdefault("" if node.domain == "ai.onnx" else node.domain, set()).add(node.op_type)
        for a in node.attribute:
            for sub in ([a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)):
                for domain, ops in node_domains(sub).items():
                    out.setdefault(domain, set()).update(ops)
    return out


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8") for v in value]
    return value
