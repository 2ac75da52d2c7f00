"""Protobuf schemas written in Python: message classes without protoc or generated code.

Readers of a framework's protobuf files (Caffe2 NetDefs, CNTK ``.model`` files) describe
the framework's schema as data, message by message and field by field, and get message
classes in a private descriptor pool: exporters then need only the protobuf runtime onnx
already depends on, and the framework's own generated ``*_pb2`` modules never load.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FIELD = descriptor_pb2.FieldDescriptorProto


def add_field(message, name: str, number: int, type_: str, label: str, type_name: str | None = None,
              package: str = ""):
    """Add a field to a ``DescriptorProto``; ``type_``/``label`` are ``TYPE_*``/``LABEL_*`` names
    without the prefix (``"FLOAT"``, ``"REPEATED"``), ``type_name`` a message or enum of ``package``."""
    field = message.field.add(name=name, number=number, type=getattr(FIELD, "TYPE_" + type_),
                              label=getattr(FIELD, "LABEL_" + label))
    if type_name:
        field.type_name = f".{package}.{type_name}"
    return field


def add_enums(messages: dict, enums: dict) -> None:
    """``enums``: ``{"Outer.Inner": [(name, number), ...]}``, nested in ``messages["Outer"]``."""
    for path, values in enums.items():
        outer, _, inner = path.rpartition(".")
        enum = messages[outer].enum_type.add(name=inner)
        for name, number in values:
            enum.value.add(name=name, number=number)


def message_classes(file_descriptor: descriptor_pb2.FileDescriptorProto, names) -> dict:
    """``{name: message class}`` for the messages ``names`` of ``file_descriptor``, in a private pool."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_descriptor)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:  # protobuf < 4.22
        get = message_factory.MessageFactory(pool).GetPrototype
    return {name: get(pool.FindMessageTypeByName(f"{file_descriptor.package}.{name}")) for name in names}
