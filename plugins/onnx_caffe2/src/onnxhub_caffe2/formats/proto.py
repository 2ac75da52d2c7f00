"""Caffe2's on-disk schema (``caffe2/proto/caffe2.proto``, proto2, package ``caffe2``), built at run time.

The message classes come from a ``FileDescriptorProto`` written out here field by field
(no protoc, no generated code), so the reader needs only the protobuf runtime onnx
already depends on. Field names and numbers follow pytorch/pytorch v1.10's
``caffe2/proto/caffe2.proto`` for the messages a NetDef holds; fields the exporter never
reads (``ExecutionStep``, ``PlanDef``, quantized tensors) are left out: the binary parser
keeps them as unknown fields, the text parser is told to skip them.
"""

from __future__ import annotations

from functools import cache

from google.protobuf import descriptor_pb2

from onnxhub.protoschema import add_enums, add_field, message_classes

_PACKAGE = "caffe2"

# (name, number, type, label, type_name or None, packed)
_MESSAGES = {
    "TensorProto": [("dims", 1, "INT64", "REPEATED", None, False),
                    ("data_type", 2, "ENUM", "OPTIONAL", "TensorProto.DataType", False),
                    ("float_data", 3, "FLOAT", "REPEATED", None, True),
                    ("int32_data", 4, "INT32", "REPEATED", None, True),
                    ("byte_data", 5, "BYTES", "OPTIONAL", None, False),
                    ("string_data", 6, "BYTES", "REPEATED", None, False),
                    ("name", 7, "STRING", "OPTIONAL", None, False),
                    ("device_detail", 8, "MESSAGE", "OPTIONAL", "DeviceOption", False),
                    ("double_data", 9, "DOUBLE", "REPEATED", None, True),
                    ("int64_data", 10, "INT64", "REPEATED", None, True),
                    ("raw_data", 13, "BYTES", "OPTIONAL", None, False)],
    "DeviceOption": [("device_type", 1, "INT32", "OPTIONAL", None, False),
                     ("device_id", 2, "INT32", "OPTIONAL", None, False),
                     ("random_seed", 3, "UINT32", "OPTIONAL", None, False),
                     ("node_name", 4, "STRING", "OPTIONAL", None, False),
                     ("numa_node_id", 5, "INT32", "OPTIONAL", None, False),
                     ("extra_info", 6, "STRING", "REPEATED", None, False)],
    "Argument": [("name", 1, "STRING", "OPTIONAL", None, False),
                 ("f", 2, "FLOAT", "OPTIONAL", None, False),
                 ("i", 3, "INT64", "OPTIONAL", None, False),
                 ("s", 4, "BYTES", "OPTIONAL", None, False),
                 ("floats", 5, "FLOAT", "REPEATED", None, False),
                 ("ints", 6, "INT64", "REPEATED", None, False),
                 ("strings", 7, "BYTES", "REPEATED", None, False),
                 ("n", 8, "MESSAGE", "OPTIONAL", "NetDef", False),
                 ("nets", 9, "MESSAGE", "REPEATED", "NetDef", False),
                 ("t", 10, "MESSAGE", "OPTIONAL", "TensorProto", False),
                 ("tensors", 11, "MESSAGE", "REPEATED", "TensorProto", False)],
    "OperatorDef": [("input", 1, "STRING", "REPEATED", None, False),
                    ("output", 2, "STRING", "REPEATED", None, False),
                    ("name", 3, "STRING", "OPTIONAL", None, False),
                    ("type", 4, "STRING", "OPTIONAL", None, False),
                    ("arg", 5, "MESSAGE", "REPEATED", "Argument", False),
                    ("device_option", 6, "MESSAGE", "OPTIONAL", "DeviceOption", False),
                    ("engine", 7, "STRING", "OPTIONAL", None, False),
                    ("control_input", 8, "STRING", "REPEATED", None, False),
                    ("is_gradient_op", 9, "BOOL", "OPTIONAL", None, False),
                    ("debug_info", 10, "STRING", "OPTIONAL", None, False),
                    ("domain", 11, "STRING", "OPTIONAL", None, False),
                    ("op_version", 12, "INT64", "OPTIONAL", None, False)],
    "NetDef": [("name", 1, "STRING", "OPTIONAL", None, False),
               ("op", 2, "MESSAGE", "REPEATED", "OperatorDef", False),
               ("type", 3, "STRING", "OPTIONAL", None, False),
               ("num_workers", 4, "INT32", "OPTIONAL", None, False),
               ("device_option", 5, "MESSAGE", "OPTIONAL", "DeviceOption", False),
               ("arg", 6, "MESSAGE", "REPEATED", "Argument", False),
               ("external_input", 7, "STRING", "REPEATED", None, False),
               ("external_output", 8, "STRING", "REPEATED", None, False)],
}
# TensorProto.DataType -> numpy dtype name (FLOAT16 is stored bit-wise in int32_data).
DATA_TYPES = {1: "float32", 2: "int32", 3: "uint8", 4: "object", 5: "bool", 6: "uint8", 7: "int8", 8: "uint16",
              9: "int16", 10: "int64", 12: "float16", 13: "float64"}
_ENUMS = {"TensorProto.DataType": [("UNDEFINED", 0), ("FLOAT", 1), ("INT32", 2), ("BYTE", 3), ("STRING", 4),
                                   ("BOOL", 5), ("UINT8", 6), ("INT8", 7), ("UINT16", 8), ("INT16", 9),
                                   ("INT64", 10), ("FLOAT16", 12), ("DOUBLE", 13), ("ZERO_COLLISION_HASH", 14),
                                   ("REBATCHING_BUFFER", 15)]}


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(name="onnxhub_caffe2/caffe2.proto", package=_PACKAGE, syntax="proto2")
    protos = {path: fdp.message_type.add(name=path) for path in _MESSAGES}
    for path, fields in _MESSAGES.items():
        for name, number, type_, label, type_name, packed in fields:
            field = add_field(protos[path], name, number, type_, label, type_name, _PACKAGE)
            if packed:
                field.options.packed = True
    add_enums(protos, _ENUMS)
    return fdp


@cache
def messages() -> dict:
    """``{"NetDef": class, "OperatorDef": class, ...}``, in a private descriptor pool."""
    return message_classes(_file_descriptor(), _MESSAGES)
