"""Hand-built ``.model`` bytes for tests that need no CNTK: a Python dict -> CNTK.proto.Dictionary.

Value types: ``bool``, ``Int(n)`` (int32), ``int`` (size_t), ``float`` (double), ``str``,
``Shape(dims)`` (NDShape, stored order), ``Axis``, ``list`` (Vector), ``dict`` (Dictionary),
``numpy.ndarray`` (float32 NDArrayView; given in NumPy order, stored column-major).
"""

import numpy as np
from onnxhub_cntk.formats.model import DYNAMIC_AXIS_INDEX, Axis
from onnxhub_cntk.formats.proto import messages

BATCH_AXIS = Axis(None, "defaultBatchAxis", False)


class Int(int):
    pass


class Shape(tuple):
    pass


def _fill(v, value) -> None:
    if isinstance(value, bool):
        v.value_type, v.bool_value = 1, value
    elif isinstance(value, Int):
        v.value_type, v.int_value = 2, value
    elif isinstance(value, int):
        v.value_type, v.size_t_value = 3, value
    elif isinstance(value, float):
        v.value_type, v.double_value = 5, value
    elif isinstance(value, str):
        v.value_type, v.string_value = 6, value
    elif isinstance(value, Axis):
        v.value_type = 8
        a = v.axis_value
        a.static_axis_idx = DYNAMIC_AXIS_INDEX if value.static_index is None else value.static_index
        a.name, a.is_ordered_dynamic_axis = value.name, value.ordered
    elif isinstance(value, Shape):
        v.value_type = 7
        v.nd_shape_value.shape_dim.extend(value)
    elif isinstance(value, list):
        v.value_type = 9
        v.vector_value.SetInParent()
        for item in value:
            _fill(v.vector_value.value.add(), item)
    elif isinstance(value, dict):
        v.value_type = 10
        _dictionary(v.dictionary_value, value)
    elif isinstance(value, np.ndarray):
        v.value_type = 11
        a = v.nd_array_view_value
        a.data_type = 1
        a.shape.shape_dim.extend(reversed(value.shape))
        a.float_values.value = value.astype("<f4").tobytes()  # packed floats: the raw little-endian run
    else:
        raise TypeError(type(value))


def _dictionary(msg, d: dict):
    msg.SetInParent()
    msg.version = 1
    for key, value in d.items():
        _fill(msg.data[key], value)


def encode(d: dict) -> bytes:
    msg = messages()["Dictionary"]()
    _dictionary(msg, d)
    return msg.SerializeToString()


def variable(uid, kind, shape, name="", value=None):
    d = {"version": 1, "type": "Variable", "uid": uid, "kind": kind, "data_type": 1, "name": name,
         "shape": Shape(reversed(shape)), "dynamic_axis": [BATCH_AXIS] if kind in (0, 4) else [],
         "is_sparse": False, "needs_gradient": kind == 2}
    if value is not None:
        d["value"] = value
    return d


def primitive(uid, op, inputs, attributes=None, **extra):
    d = {"version": 24, "type": "PrimitiveFunction", "uid": uid, "op": op, "inputs": list(inputs),
         "attributes": attributes or {}}
    d.update(extra)
    return d


def tiny_model(weight: np.ndarray) -> dict:
    """``relu(W x + b)`` as a Dense block around Times/Plus/ReLU, the way CNTK stores it."""
    n_in, n_out = weight.shape
    bias = np.arange(n_out, dtype=np.float32)
    return {
        "version": 3, "type": "CompositeFunction", "uid": "CompositeFunction9", "name": "tiny", "root": "Block8",
        "inputs": [variable("Parameter1", 2, (n_in, n_out), "W", weight),
                   variable("Parameter2", 2, (n_out,), "b", bias),
                   variable("Input3", 0, (n_in,), "x"), variable("Placeholder4", 4, (n_in,))],
        "primitive_functions": [
            primitive("Times5", 31, ["Parameter1", "Placeholder4"], {"outputRank": 1, "inferInputRankToMap": Int(0)}),
            primitive("Plus6", 19, ["Times5_Output_0", "Parameter2"]),
            primitive("ReLU7", 3, ["Plus6_Output_0"]),
            primitive("Block8", 57, ["Parameter1", "Parameter2", "Input3"], name="dense",
                      block_function_composite={"version": 3, "type": "CompositeFunction", "uid": "Composite10",
                                                "root": "ReLU7"},
                      block_function_composite_arguments_map_keys=["Placeholder4"],
                      block_function_composite_arguments_map_values=["Input3"],
                      block_function_op_name="Dense"),
        ],
    }
