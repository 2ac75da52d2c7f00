"""CNTK's on-disk schema (``CNTK.proto``, proto3, package ``CNTK.proto``), built at run time.

The message classes come from a ``FileDescriptorProto`` written out here field by field
(no protoc, no generated code), so the reader needs only the protobuf runtime onnx
already depends on. Field names, numbers and wire types follow
``Source/CNTKv2LibraryDll/proto/CNTK.proto``; the packed float/double arrays are declared
as ``bytes`` (same wire format), so weights are read as raw little-endian buffers.
"""

from __future__ import annotations

from functools import cache

from google.protobuf import descriptor_pb2

from onnxhub.protoschema import add_enums, add_field, message_classes

_PACKAGE = "CNTK.proto"

# (name, number, type, label, type_name or None, oneof index or None)
# Types: the FieldDescriptorProto TYPE_* names without the prefix.
_MESSAGES = {
    "NDShape": [("shape_dim", 1, "UINT64", "REPEATED", None, None)],
    "Axis": [("static_axis_idx", 1, "INT32", "OPTIONAL", None, None),
             ("name", 2, "STRING", "OPTIONAL", None, None),
             ("is_ordered_dynamic_axis", 3, "BOOL", "OPTIONAL", None, None)],
    "NDArrayView": [("data_type", 1, "ENUM", "OPTIONAL", "NDArrayView.DataType", None),
                    ("storage_format", 2, "ENUM", "OPTIONAL", "NDArrayView.StorageFormat", None),
                    ("shape", 3, "MESSAGE", "OPTIONAL", "NDShape", None),
                    ("float_values", 4, "MESSAGE", "OPTIONAL", "NDArrayView.FloatValues", 0),
                    ("double_values", 5, "MESSAGE", "OPTIONAL", "NDArrayView.DoubleValues", 0),
                    ("bytes_value", 6, "MESSAGE", "OPTIONAL", "NDArrayView.BytesValue", 0),
                    ("sint32_values", 7, "MESSAGE", "OPTIONAL", "NDArrayView.IntValues", 0)],
    # ``repeated float/double value = 1 [packed = true]`` in CNTK.proto. A packed field is one
    # length-delimited run of little-endian values, the same bytes on the wire as a ``bytes``
    # field: read as bytes, a weight costs one copy instead of one Python float per value.
    "NDArrayView.FloatValues": [("value", 1, "BYTES", "OPTIONAL", None, None)],
    "NDArrayView.DoubleValues": [("value", 1, "BYTES", "OPTIONAL", None, None)],
    "NDArrayView.BytesValue": [("value", 1, "BYTES", "OPTIONAL", None, None)],
    "NDArrayView.IntValues": [("value", 1, "SINT32", "REPEATED", None, None)],
    "Vector": [("value", 1, "MESSAGE", "REPEATED", "DictionaryValue", None)],
    "Dictionary": [("version", 1, "UINT64", "OPTIONAL", None, None),
                   ("data", 2, "MESSAGE", "REPEATED", "Dictionary.DataEntry", None)],
    "Dictionary.DataEntry": [("key", 1, "STRING", "OPTIONAL", None, None),
                             ("value", 2, "MESSAGE", "OPTIONAL", "DictionaryValue", None)],
    "DictionaryValue": [("version", 1, "UINT64", "OPTIONAL", None, None),
                        ("value_type", 2, "ENUM", "OPTIONAL", "DictionaryValue.Type", None),
                        ("bool_value", 3, "BOOL", "OPTIONAL", None, 0),
                        ("int_value", 4, "INT32", "OPTIONAL", None, 0),
                        ("size_t_value", 5, "UINT64", "OPTIONAL", None, 0),
                        ("float_value", 6, "FLOAT", "OPTIONAL", None, 0),
                        ("double_value", 7, "DOUBLE", "OPTIONAL", None, 0),
                        ("string_value", 8, "STRING", "OPTIONAL", None, 0),
                        ("nd_shape_value", 9, "MESSAGE", "OPTIONAL", "NDShape", 0),
                        ("axis_value", 10, "MESSAGE", "OPTIONAL", "Axis", 0),
                        ("vector_value", 11, "MESSAGE", "OPTIONAL", "Vector", 0),
                        ("dictionary_value", 12, "MESSAGE", "OPTIONAL", "Dictionary", 0),
                        ("nd_array_view_value", 13, "MESSAGE", "OPTIONAL", "NDArrayView", 0)],
}
_ENUMS = {
    "NDArrayView.DataType": [("Unknown", 0), ("Float", 1), ("Double", 2), ("Float16", 4), ("Int8", 5),
                             ("Int16", 6)],
    "NDArrayView.StorageFormat": [("Dense", 0), ("SparseCSC", 1), ("SparseBlockCol", 2)],
    "DictionaryValue.Type": [(n, i) for i, n in enumerate(
        "None Bool Int SizeT Float Double String NDShape Axis Vector Dictionary NDArrayView".split())],
}
_ONEOFS = {"NDArrayView": "values", "DictionaryValue": "value"}


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(name="onnxhub_cntk/CNTK.proto", package=_PACKAGE, syntax="proto3")
    protos = {}
    for path in _MESSAGES:  # parents are listed before their nested types
        outer, _, inner = path.rpartition(".")
        protos[path] = (protos[outer].nested_type if outer else fdp.message_type).add(name=inner)
    protos["Dictionary.DataEntry"].options.map_entry = True
    for path, fields in _MESSAGES.items():
        msg = protos[path]
        if path in _ONEOFS:
            msg.oneof_decl.add(name=_ONEOFS[path])
        for name, number, type_, label, type_name, oneof in fields:
            field = add_field(msg, name, number, type_, label, type_name, _PACKAGE)
            if oneof is not None:
                field.oneof_index = oneof
    add_enums(protos, _ENUMS)
    return fdp


@cache
def messages() -> dict:
    """``{"Dictionary": class, "DictionaryValue": class, ...}``, in a private descriptor pool."""
    return message_classes(_file_descriptor(), ("Dictionary", "DictionaryValue"))
