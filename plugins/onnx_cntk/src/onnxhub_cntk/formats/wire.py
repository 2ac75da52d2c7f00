"""Set CNTK's weight payloads aside before protobuf parses a ``.model``.

Parsing a 100 MB model with protobuf copies every weight into the message, and reading it
back out copies it again. ``set_aside`` walks the protobuf wire format along the schema
(``proto.py``'s descriptors) and returns a copy of the message in which every packed
float/double run of ``MIN_PAYLOAD`` bytes or more is replaced by its 8-byte index into a
list of ``(offset, length)`` spans of the original buffer. Protobuf then parses a message
of a few hundred kilobytes, and the weights become NumPy views on the memory-mapped file:
nothing is copied until the ONNX file is written.
"""

from __future__ import annotations

import struct

MIN_PAYLOAD = 64  # smaller runs stay inline: an 8-byte index must never be mistaken for data
_INDEX = struct.Struct("<Q")
PAYLOAD_MESSAGES = ("CNTK.proto.NDArrayView.FloatValues", "CNTK.proto.NDArrayView.DoubleValues")


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated or malformed varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def set_aside(buf, descriptor) -> tuple[bytes | None, list]:
    """``(message without large payloads, [(offset, length), ...])``; the message is None when
    nothing was set aside (parse ``buf`` itself). ``ValueError`` for a malformed wire format."""
    spans: list = []
    stripped = _message(buf, 0, len(buf), descriptor, spans)
    return stripped, spans


_LAYOUTS: dict = {}  # descriptor -> (holds a payload, {field number: message descriptor})


def _layout(descriptor) -> tuple[bool, dict]:
    """What the walk needs of a message type, looked up once per type rather than once per field."""
    layout = _LAYOUTS.get(descriptor)
    if layout is None:
        layout = _LAYOUTS[descriptor] = (
            descriptor.full_name in PAYLOAD_MESSAGES,
            {f.number: f.message_type for f in descriptor.fields if f.message_type is not None})
    return layout


def _message(buf, start: int, end: int, descriptor, spans: list) -> bytes | None:
    """The message ``buf[start:end]`` with payloads set aside, or None when it has none.

    The hot loop of the reader (thousands of small messages): one-byte varints, by far the
    most common keys and lengths, are decoded inline.
    """
    parts, copied, pos = [], start, start
    payload, children = _layout(descriptor)
    while pos < end:
        field_start = pos
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        wire = key & 7
        if wire == 2:
            length = buf[pos] if pos < end else 0x80
            if length < 0x80:
                data = pos + 1
            else:
                length, data = _varint(buf, pos, end)
            pos = data + length
            if pos > end:
                raise ValueError("a length-delimited field runs past its message")
            if length < MIN_PAYLOAD:  # small ones hold no payload
                continue
            number = key >> 3
            if payload and number == 1:
                inner = _INDEX.pack(len(spans))
                spans.append((data, length))
            else:
                child = children.get(number)
                if child is None:
                    continue
                inner = _message(buf, data, pos, child, spans)
                if inner is None:
                    continue
            parts += [buf[copied:field_start], _encode_varint(key), _encode_varint(len(inner)), inner]
            copied = pos
        elif wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 1 or wire == 5:
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise ValueError("a field runs past its message")
        else:
            raise ValueError(f"wire type {wire} is not valid here")
    if not parts:
        return None
    parts.append(buf[copied:end])
    return b"".join(bytes(p) for p in parts)
