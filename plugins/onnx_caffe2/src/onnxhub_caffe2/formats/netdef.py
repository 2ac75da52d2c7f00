"""Caffe2 NetDefs (``init_net`` + ``predict_net``), binary ``.pb`` or text ``.pbtxt``, read without Caffe2.

``read_netdef(path)`` decodes one file into a ``Net``: its ops (``Op``: type, inputs,
outputs, args as Python values) and external inputs/outputs. ``read_pair(paths)`` takes
the two files in any order, tells them apart by content (an init net holds only fill
ops), and turns the init net's fills into numpy arrays (``Weights``). ``value_info.json``
beside the nets (the Caffe2 model zoo's ``{blob: [dtype enum, shape]}``) is read by
``read_value_info``. Every problem with a file is one ``InvalidModel`` line naming it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onnxhub.errors import InvalidModel, UnsupportedOperator

from . import wire
from .proto import DATA_TYPES, messages

# Fill ops whose values are in the file, with the arg that holds them and the array's dtype.
GIVEN_FILLS = {
    "GivenTensorFill": ("floats", np.float32),
    "GivenTensorDoubleFill": ("floats", np.float64),
    "GivenTensorInt64Fill": ("ints", np.int64),
    "GivenTensorIntFill": ("ints", np.int32),
    "GivenTensorInt16Fill": ("ints", np.int16),
    "GivenTensorBoolFill": ("ints", np.bool_),
    "GivenTensorByteStringToUInt8Fill": ("strings", np.uint8),
}
CONSTANT_FILLS = ("ConstantFill",)
# Fills that make random or position-dependent values: an init net of them holds no trained weights.
RANDOM_FILLS = ("XavierFill", "MSRAFill", "GaussianFill", "UniformFill", "UniformIntFill", "RangeFill",
                "LengthsRangeFill", "DiagonalFill", "GivenTensorStringFill")


def is_fill(op_type: str) -> bool:
    return op_type.endswith("Fill") or op_type in ("Load", "CreateDB")


@dataclass
class Op:
    """One Caffe2 operator: ``args`` maps argument names to Python values (lists for repeated ones)."""

    type: str
    inputs: list
    outputs: list
    name: str
    args: dict
    engine: str
    index: int
    spans: dict = field(default_factory=dict)  # argument name -> (start, end) of a float run in the file

    def arg(self, name: str, default=None):
        return self.args.get(name, default)

    @property
    def label(self) -> str:
        """How messages name the op: its name, else ``#index`` and its first output."""
        return self.name or f"#{self.index} -> {self.outputs[0] if self.outputs else '?'}"


NO_INIT = "(no init_net)"  # the path of the empty init net a predict_net given alone gets


@dataclass
class Net:
    name: str
    ops: list
    external_input: list
    external_output: list
    path: str
    proto: object = field(repr=False, default=None)
    buffer: object = field(repr=False, default=None)  # the memory-mapped file of a binary net

    @property
    def is_init(self) -> bool:
        """An init net: every op is a fill (an init net of a net without weights has none)."""
        return all(is_fill(op.type) for op in self.ops)


def _arg_value(arg):
    """An Argument's value: a scalar for f/i/s/t/n, else the repeated field that is set (``[]`` when none)."""
    for name in ("f", "i", "s"):
        if arg.HasField(name):
            value = getattr(arg, name)
            return value.decode("utf-8", "replace") if name == "s" else value
    for name in ("t", "n"):
        if arg.HasField(name):
            return getattr(arg, name)
    for name in ("floats", "ints", "strings", "tensors", "nets"):
        values = getattr(arg, name)
        if len(values):
            if name == "strings":
                return list(values)
            return values if name in ("floats", "ints") else list(values)
    return []


TEXT_SUFFIXES = (".pbtxt", ".prototxt", ".txt")


def _looks_like_text(data: bytes, where: str) -> bool:
    """Text format: by suffix, else UTF-8 without control characters (binary NetDefs have length bytes)."""
    if where.endswith(TEXT_SUFFIXES):
        return True
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head[:-4].decode("utf-8", "replace") if len(head) == 4096 else None
        if text is None or "\ufffd" in text:
            return False
    return all(c.isprintable() or c in "\n\r\t" for c in text)


def _parse_text(data: bytes, where: str):
    """A NetDef message from text protobuf."""
    from google.protobuf import text_format

    net = messages()["NetDef"]()
    try:
        text_format.Parse(data.decode("utf-8"), net, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidModel(f"{where}: not a Caffe2 NetDef (text format: {first})") from None
    return net


def _from_message(proto, path: str) -> Net:
    ops = [Op(type=op.type, inputs=list(op.input), outputs=list(op.output), name=op.name,
              args={a.name: _arg_value(a) for a in op.arg}, engine=op.engine, index=i)
           for i, op in enumerate(proto.op)]
    return Net(name=proto.name, ops=ops, external_input=list(proto.external_input),
               external_output=list(proto.external_output), path=path, proto=proto)


def _text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8")


def _read_arg(buf, start: int, end: int):
    """``(name, value, span)`` of one Argument; a large floats run becomes a float32 view on ``buf``
    (``span``: where its bytes are, else None)."""
    from google.protobuf import message as pb_message

    if end - start > wire.BIG:
        it = wire.fields(buf, start, end)
        number, kind, span = next(it)
        if number == 1 and kind == 2:
            values = wire.float_run(buf, span[1], end)
            if values is not None:
                return _text(buf, span), values, (span[1], end)
    arg = messages()["Argument"]()
    try:
        arg.ParseFromString(bytes(buf[start:end]))
    except (pb_message.DecodeError, ValueError, RuntimeError):
        raise wire.WireError("an operator argument does not decode") from None
    return arg.name, _arg_value(arg), None


def _read_op(buf, start: int, end: int, index: int) -> Op:
    lists = {1: [], 2: []}
    text = {3: "", 4: "", 7: ""}
    args, spans = {}, {}
    for number, kind, value in wire.fields(buf, start, end):
        if number in (1, 2, 3, 4, 5, 7) and kind != 2:
            raise wire.WireError(f"operator field {number} has wire type {kind}")
        if number in lists:
            lists[number].append(_text(buf, value))
        elif number in text:
            text[number] = _text(buf, value)
        elif number == 5:
            name, arg_value, span = _read_arg(buf, *value)
            args[name] = arg_value
            if span is not None:
                spans[name] = span
    return Op(type=text[4], inputs=lists[1], outputs=lists[2], name=text[3], args=args, engine=text[7], index=index,
              spans=spans)


def _read_binary(buf, path: str) -> Net:
    """Walk a binary NetDef (see ``wire``): ops, their arguments and the external blob lists."""
    name, ops, lists = "", [], {7: [], 8: []}
    try:
        for number, kind, value in wire.fields(buf, 0, len(buf)):
            if number in (1, 2, 7, 8) and kind != 2:
                raise wire.WireError(f"NetDef field {number} has wire type {kind}")
            if number == 1:
                name = _text(buf, value)
            elif number == 2:
                ops.append(_read_op(buf, value[0], value[1], len(ops)))
            elif number in lists:
                lists[number].append(_text(buf, value))
    except wire.WireError as e:
        raise InvalidModel(f"{path}: not a Caffe2 NetDef (truncated or corrupt protobuf: {e})") from None
    except UnicodeDecodeError:
        raise InvalidModel(f"{path}: not a Caffe2 NetDef (truncated or corrupt protobuf: a name is not UTF-8)") from None
    return Net(name=name, ops=ops, external_input=lists[7], external_output=lists[8], path=path, buffer=buf)


def _check_structure(net: Net, where: str) -> None:
    """A buffer can parse as a NetDef by accident (an ONNX model, random bytes): check it looks like one."""
    if not net.ops and not (net.name or net.external_input or net.external_output):
        raise InvalidModel(f"{where}: not a Caffe2 NetDef (no operators)")  # an empty init net still has a name
    for op in net.ops:
        if not op.type or not op.type.isprintable() or not op.type.replace("_", "").isalnum():
            raise InvalidModel(f"{where}: not a Caffe2 NetDef (operator #{op.index} has no valid type)")
        if any(not name for name in op.outputs):
            raise InvalidModel(f"{where}: not a Caffe2 NetDef (operator #{op.index} {op.type} has an empty output name)")


def read_netdef(path) -> Net:
    """Decode one NetDef file (binary or text). Binary files are memory-mapped: weights stay views on them."""
    import mmap

    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as e:
        raise InvalidModel(f"{path}: cannot read ({e.strerror or e})") from None
    if not size or not bytes(buf[:4096]).strip():
        raise InvalidModel(f"{path}: empty file, not a Caffe2 NetDef")
    if _looks_like_text(bytes(buf[:4096]), str(path)):
        net = _from_message(_parse_text(bytes(buf), str(path)), str(path))
    else:
        net = _read_binary(buf, str(path))
    _check_structure(net, str(path))
    return net


# -- weights ------------------------------------------------------------------------------
def _shape(op, where) -> tuple:
    shape = op.arg("shape", [])
    if not isinstance(shape, (list,)) and not hasattr(shape, "__len__"):
        shape = [shape]
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidModel(f"{where}: {op.type} {op.label}: 'shape' is not a list of ints") from None


def fill_value(op: Op, where: str) -> np.ndarray:
    """The array a fill op of an init net makes."""
    if op.type in RANDOM_FILLS:
        raise InvalidModel(f"{where}: {op.type} {op.label} fills {op.outputs[0]!r} with generated values, "
                           "not saved weights (save the trained workspace, e.g. with mobile_exporter)")
    if op.inputs:
        raise InvalidModel(f"{where}: fill {op.type} {op.label} reads blobs {op.inputs}; "
                           "an init net's fills must be self-contained")
    shape = _shape(op, where)
    if op.type in GIVEN_FILLS:
        key, dtype = GIVEN_FILLS[op.type]
        values = op.arg("values", [])
        if key == "strings":
            flat = np.frombuffer(b"".join(values), dtype=np.uint8)
        elif isinstance(values, np.ndarray) and values.dtype == dtype:
            flat = values  # a view on the file (formats.wire): no copy
        else:
            flat = np.array(values, dtype=np.float64 if dtype == np.bool_ else dtype)
            flat = flat.astype(dtype, copy=False)
        count = int(np.prod(shape, dtype=np.int64))
        if flat.size != count:
            raise InvalidModel(f"{where}: {op.type} {op.label} has {flat.size} values for shape {list(shape)} "
                               f"({count} expected): missing or truncated weights")
        return flat.reshape(shape)
    if op.type in CONSTANT_FILLS:
        if op.arg("input_as_shape", 0):
            raise InvalidModel(f"{where}: ConstantFill {op.label} takes its shape from an input")
        dtype = np.dtype(DATA_TYPES.get(int(op.arg("dtype", 1)), "float32"))
        if dtype == np.dtype(object):
            raise InvalidModel(f"{where}: ConstantFill {op.label} makes strings")
        shape = shape + tuple(int(d) for d in op.arg("extra_shape", []))
        return np.full(shape, op.arg("value", 0), dtype=dtype)
    raise UnsupportedOperator(op.type, node=op.label, where=f"{where} (init_net: only saved-value fills "
                              "GivenTensor*Fill and ConstantFill are read)")


def is_placeholder(op: Op) -> bool:
    """``mobile_exporter``'s stand-in for an input blob: ``GivenTensorFill`` of shape [1, 1] holding 0."""
    return (op.type == "GivenTensorFill" and list(op.arg("shape", [])) == [1, 1]
            and [float(v) for v in op.arg("values", [])] == [0.0])


# -- the pair -------------------------------------------------------------------------------
def read_pair(paths) -> tuple[Net, Net]:
    """``(predict_net, init_net)`` from two NetDef files given in any order, or a predict_net alone
    (Caffe2's frontend takes ``init_net=None``: every blob it reads is then an input), whose init
    net is ``NO_INIT``."""
    paths = [Path(p) for p in paths]
    if len(paths) not in (1, 2):
        raise InvalidModel("the Caffe2 exporter takes a predict_net and its init_net (or the predict_net "
                           f"alone); got {len(paths)}: {', '.join(p.name for p in paths) or 'none'}")
    if len(paths) == 1:
        predict = read_netdef(paths[0])
        if predict.is_init and predict.ops:
            raise InvalidModel(f"{predict.path} is an init net (only fill ops); the predict_net is missing")
        return predict, Net("", [], [], [], NO_INIT)
    a, b = (read_netdef(p) for p in paths)
    if a.is_init and b.is_init:
        raise InvalidModel(f"{a.path} and {b.path} are both init nets (only fill ops); "
                           "the predict_net is missing")
    if not a.is_init and not b.is_init:
        raise InvalidModel(f"{a.path} and {b.path} are both predict nets (neither holds only fill ops); "
                           "the init_net with the weights is missing")
    return (b, a) if a.is_init else (a, b)


def read_value_info(folder) -> dict | None:
    """``{blob: (dtype, [dims])}`` from ``value_info.json`` in ``folder`` (the Caffe2 model zoo's), else None."""
    path = Path(folder) / "value_info.json"
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
        return {str(name): (np.dtype(DATA_TYPES.get(int(v[0]), "float32")), [int(d) for d in v[1]])
                for name, v in info.items()}
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        raise InvalidModel(f"{path}: not a Caffe2 value_info.json ({{blob: [dtype, shape]}}): {e}") from None
