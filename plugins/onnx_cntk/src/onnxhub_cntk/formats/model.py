"""Read CNTK v2 ``.model`` files into a plain Python graph, without CNTK.

A ``.model`` file is one ``CNTK.proto.Dictionary`` (see ``proto.py``) describing the
saved composite function: ``type`` ("CompositeFunction"), ``uid``, ``name``, ``root`` (uid
of the function whose outputs are the model's), ``inputs`` (every variable that is not a
function output: inputs, parameters, constants, placeholders) and ``primitive_functions``
(every function, those inside blocks included, flat). A function refers to its inputs by
variable uid; output ``i`` of function ``F`` is the variable ``F_Output_i``. A block
function (a layer such as ``Dense`` or ``LSTM``) names the root of its body in
``block_function_composite`` and maps the body's placeholders to its outer inputs.

Orders: CNTK stores shapes column-major (its C++ order). ``Variable.shape`` and parameter
arrays are given in NumPy order, as CNTK's Python API reports them (``W`` of
``Dense(4)`` on 3 features is ``(3, 4)``). Attribute values (``kernelShape``, ``strides``,
static axis indices...) are kept as stored, in C++ order: reverse them to get NumPy order.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from onnxhub.errors import InvalidModel

from .wire import MIN_PAYLOAD

# PrimitiveOpType (Source/CNTKv2LibraryDll/API/Internals/PrimitiveOpType.h), CNTK 2.7: 0..97.
OP_NAMES = (
    "Negate Sigmoid Tanh ReLU Exp Log Sqrt Floor Abs Reciprocal Softmax Hardmax TransposeAxes Where Slice "
    "Dropout Reshape Pooling SumAll Plus Minus ElementTimes Equal NotEqual Less LessEqual Greater GreaterEqual "
    "PackedIndex GatherPacked ScatterPacked Times TransposeTimes Convolution SquaredError CrossEntropyWithSoftmax "
    "ClassificationError PastValue FutureValue ReduceElements BatchNormalization Clip Select Splice Combine "
    "RandomSample RandomSampleInclusionFrequency ROIPooling Logistic OptimizedRNNStack ReconcileDynamicAxis "
    "LogSoftmax LogPlus CosDistance Sin Cos Pass Block Unpooling LambdaRank NDCG EditDistanceError NoOp "
    "LabelsToGraph StopGradient ELU ForwardBackward CosDistanceWithNegativeSamples OneHot Pow ToSequence "
    "ToSequenceLike UnpackSequence Assign Gather StableSigmoid RandomDistribution Sinh Cosh UnpackBatch ToBatch "
    "Asin Acos Pad Crop Atanh Asinh TopK Squeeze ConstantOp LatticeSequenceWithSoftmax Cast EyeLikeOp "
    "CustomProxyOp StraightThrough Tan Atan ConvolutionSequenceShape"
).split()
VARIABLE_KINDS = ("input", "output", "parameter", "constant", "placeholder")  # CNTK::VariableKind
# CNTK::DataType (Variable.data_type and NDArrayView.data_type); 3 (UChar) only in readers.
DTYPES = {1: np.float32, 2: np.float64, 3: np.uint8, 4: np.float16, 5: np.int8, 6: np.int16}
# NDShape sentinels (CNTKLibrary.h): InferredDimension = (size_t)-1, unknown rank -2, FreeDimension -3.
_U64 = 1 << 64
INFERRED, UNKNOWN_RANK, FREE = _U64 - 1, _U64 - 2, _U64 - 3
DYNAMIC_AXIS_INDEX = 2147483647  # Axis::SentinelStaticAxisIndexValueForDynamicAxes
ALL_STATIC_AXES_INDEX = 2147483646  # Axis::AllStaticAxes()
ALL_AXES_INDEX = 2147483643  # Axis::AllAxes(): the static axes and the dynamic ones (batch, sequence)
_OUTPUT = re.compile(r"^(.*)_Output_(\d+)$")


class Axis(NamedTuple):
    """A CNTK axis: ``static_index`` (stored C++ order; None for a dynamic axis), ``name``, ``ordered``."""

    static_index: int | None
    name: str
    ordered: bool

    @property
    def is_dynamic(self) -> bool:
        return self.static_index is None

    @property
    def is_all_static(self) -> bool:
        return self.static_index == ALL_STATIC_AXES_INDEX

    @property
    def is_all(self) -> bool:
        return self.static_index == ALL_AXES_INDEX

    @property
    def is_batch(self) -> bool:
        return self.static_index is None and not self.ordered

    @property
    def is_sequence(self) -> bool:
        return self.static_index is None and self.ordered


@dataclass
class Variable:
    """An input, parameter, constant or placeholder; ``shape`` in NumPy order, free dims as None."""

    uid: str
    kind: str
    name: str
    shape: tuple | None  # None: unknown rank
    dtype: np.dtype
    dynamic_axes: tuple = ()  # of Axis, as stored (a sequence input: sequence axis, then batch axis)
    is_sparse: bool = False
    needs_gradient: bool = False
    value: np.ndarray | None = None  # parameters and constants

    @property
    def has_sequence_axis(self) -> bool:
        return any(a.is_sequence for a in self.dynamic_axes)

    @property
    def has_batch_axis(self) -> bool:
        return any(a.is_batch for a in self.dynamic_axes)


@dataclass
class Block:
    """A block function's body: ``op_name`` (``Dense``, ``LSTM``...), the uid of the body's root
    function, and ``arguments``: placeholder uid inside the body -> variable uid outside."""

    op_name: str
    root: str
    arguments: dict
    uid: str = ""


@dataclass
class Function:
    uid: str
    op: str
    name: str
    inputs: list  # variable uids (inputs, parameters, constants, placeholders or F_Output_i)
    attributes: dict
    outputs: list = field(default_factory=list)  # F_Output_i uids
    block: Block | None = None


@dataclass
class Model:
    """A decoded ``.model``: every function (flat, as stored), every non-output variable, the root."""

    uid: str
    name: str
    version: int
    root: str
    functions: dict  # uid -> Function, in stored order
    variables: dict  # uid -> Variable
    path: str = ""
    # Filled once the model is linked: F_Output_i -> (F, i), and the orders worked out so far.
    _produced: dict = field(default_factory=dict, repr=False, compare=False)
    _orders: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def outputs(self) -> list:
        """The model's outputs: the root function's output uids."""
        return self.functions[self.root].outputs

    @property
    def arguments(self) -> list:
        """Free inputs the caller feeds (kind ``input``), in stored order."""
        return [v for v in self.variables.values() if v.kind == "input"]

    @property
    def parameters(self) -> list:
        return [v for v in self.variables.values() if v.kind == "parameter"]

    @property
    def constants(self) -> list:
        return [v for v in self.variables.values() if v.kind == "constant"]

    def producer(self, uid: str) -> tuple[Function, int] | None:
        """``(function, output index)`` for ``F_Output_i``; None for a stored variable."""
        found = self._produced.get(uid)
        if found is not None:
            return found
        m = _OUTPUT.match(uid)
        if m and m.group(1) in self.functions:
            return self.functions[m.group(1)], int(m.group(2))
        return None

    def body(self, block: Function) -> list:
        """The functions of ``block``'s body, inputs before users (delay inputs excepted)."""
        order = self._orders.get(block.uid)
        if order is None:
            order = self._orders[block.uid] = topological(self, [block.block.root], set(block.block.arguments))
        return list(order)

    def top_level(self) -> list:
        """The functions outside any block body, in topological order."""
        order = self._orders.get(None)
        if order is None:
            order = self._orders[None] = topological(self, [self.root], set())
        return list(order)


# -- decoding ----------------------------------------------------------------------------
class _Decoder:
    def __init__(self, path: str):
        self.path = path
        self.data, self.spans = b"", []  # the file, and where payloads set aside lie in it (wire.py)

    def fail(self, what: str):
        raise InvalidModel(f"{self.path}: {what}")

    def value(self, v, where: str):
        """A DictionaryValue as plain Python: scalars, tuples (NDShape), Axis, lists, dicts, arrays."""
        kind = v.WhichOneof("value")
        if kind is None:
            return None
        if kind == "nd_shape_value":
            return tuple(v.nd_shape_value.shape_dim)
        if kind == "axis_value":
            a = v.axis_value
            return Axis(None if a.static_axis_idx == DYNAMIC_AXIS_INDEX else a.static_axis_idx, a.name,
                        a.is_ordered_dynamic_axis)
        if kind == "vector_value":
            return [self.value(x, where) for x in v.vector_value.value]
        if kind == "dictionary_value":
            return self.dictionary(v.dictionary_value, where)
        if kind == "nd_array_view_value":
            return self.array(v.nd_array_view_value, where)
        return getattr(v, kind)

    def dictionary(self, d, where: str) -> dict:
        return {k: self.value(v, f"{where}.{k}") for k, v in d.data.items()}

    def array(self, a, where: str) -> np.ndarray:
        dtype = DTYPES.get(a.data_type)
        if dtype is None:
            self.fail(f"{where}: unknown array data type {a.data_type}")
        if a.storage_format != 0:
            self.fail(f"{where}: sparse array storage is not supported (store it dense in CNTK first)")
        dims = tuple(a.shape.shape_dim)
        if any(d >= INFERRED - 3 for d in dims):
            self.fail(f"{where}: array of unresolved shape {self.numpy_shape(dims)}")
        count = int(np.prod(dims, dtype=np.int64))
        kind = a.WhichOneof("values")
        if kind == "float_values":  # packed little-endian values, read as one buffer (see proto.py)
            data = self.buffer(a.float_values.value, "<f4", count, where)
        elif kind == "double_values":
            data = self.buffer(a.double_values.value, "<f8", count, where)
        elif kind == "sint32_values":
            data = np.array(a.sint32_values.value, dtype=np.int32)
        elif kind == "bytes_value":
            data = self.buffer(a.bytes_value.value, np.dtype(dtype).newbyteorder("<"), count, where)
        else:
            self.fail(f"{where}: array has no values")
        if data.size != count:
            self.fail(f"{where}: array of shape {self.numpy_shape(dims)} holds {data.size} values")
        # Column-major in C++ order is row-major in the reversed (NumPy) order.
        return data.astype(dtype, copy=False).reshape(tuple(reversed(dims)))

    def buffer(self, raw: bytes, dtype, count: int, where: str) -> np.ndarray:
        """A read-only array over ``raw``, or over the span of the file it stands for (no copy).

        A run of ``MIN_PAYLOAD`` bytes or more was set aside (``wire.py``): what is left is its
        8-byte index, which can never be the data itself, as the data is that long or longer.
        """
        dtype = np.dtype(dtype)
        if count * dtype.itemsize >= MIN_PAYLOAD and len(raw) == 8:
            (index,) = struct.unpack("<Q", raw)
            if index >= len(self.spans):
                self.fail(f"{where}: array data missing")
            offset, length = self.spans[index]
            if length != count * dtype.itemsize:
                self.fail(f"{where}: {length} bytes of data for {count} {dtype.name} values")
            return np.frombuffer(self.data, dtype=dtype, count=count, offset=offset)
        if len(raw) % dtype.itemsize:
            self.fail(f"{where}: {len(raw)} bytes is not a whole number of {dtype.name} values")
        return np.frombuffer(raw, dtype=dtype)

    @staticmethod
    def numpy_shape(dims) -> tuple | None:
        if len(dims) == 1 and dims[0] == UNKNOWN_RANK:
            return None
        return tuple(None if d == FREE else -1 if d == INFERRED else int(d) for d in reversed(dims))

    def require(self, d: dict, key: str, types, where: str):
        if key not in d:
            self.fail(f"{where}: missing key {key!r}")
        value = d[key]
        if not isinstance(value, types):
            self.fail(f"{where}: key {key!r} has the wrong type ({type(value).__name__})")
        return value

    def entries(self, top: dict, key: str, decode) -> dict:
        """``{uid: decoded}`` for the list of dictionaries ``top[key]``, in stored order."""
        out = {}
        for i, d in enumerate(self.require(top, key, list, "model")):
            if not isinstance(d, dict):
                self.fail(f"model: {key}[{i}] is not a dictionary")
            item = decode(d, f"model {key}[{i}]")
            out[item.uid] = item
        return out

    def variable(self, d: dict, where: str) -> Variable:
        uid = self.require(d, "uid", str, where)
        where = f"variable {uid!r}"
        kind = self.require(d, "kind", int, where)
        if not 0 <= kind < len(VARIABLE_KINDS):
            self.fail(f"{where}: unknown variable kind {kind}")
        dtype = DTYPES.get(self.require(d, "data_type", int, where))
        if dtype is None:
            self.fail(f"{where}: unknown data type {d['data_type']}")
        shape = self.numpy_shape(self.require(d, "shape", tuple, where))
        axes = tuple(self.require(d, "dynamic_axis", list, where))
        var = Variable(uid, VARIABLE_KINDS[kind], d.get("name", "") or "", shape, np.dtype(dtype), axes,
                       bool(d.get("is_sparse", False)), bool(d.get("needs_gradient", False)))
        if var.kind in ("parameter", "constant"):
            value = self.require(d, "value", np.ndarray, where)
            if shape is not None and None not in shape and -1 not in shape and value.shape != shape:
                self.fail(f"{where}: value of shape {value.shape} for a variable of shape {shape}")
            var.value = value
        return var

    def function(self, d: dict, where: str) -> Function:
        uid = self.require(d, "uid", str, where)
        where = f"function {uid!r}"
        kind = d.get("type", "PrimitiveFunction")
        if kind != "PrimitiveFunction":
            self.fail(f"{where}: {kind} (a user-defined Python function) cannot be read without its code")
        op_code = self.require(d, "op", int, where)
        if op_code >= len(OP_NAMES):
            self.fail(f"{where}: unknown CNTK operator code {op_code}")
        inputs = self.require(d, "inputs", list, where)
        if not all(isinstance(i, str) for i in inputs):
            self.fail(f"{where}: inputs must be variable uids")
        attrs = d.get("attributes") or {}
        fn = Function(uid, OP_NAMES[op_code], d.get("name", "") or "", list(inputs), attrs)
        if fn.op == "Block":
            composite = self.require(d, "block_function_composite", dict, where)
            keys = self.require(d, "block_function_composite_arguments_map_keys", list, where)
            values = self.require(d, "block_function_composite_arguments_map_values", list, where)
            if len(keys) != len(values):
                self.fail(f"{where}: block argument map has {len(keys)} keys and {len(values)} values")
            fn.block = Block(self.require(d, "block_function_op_name", str, where),
                             self.require(composite, "root", str, where + " body"), dict(zip(keys, values)),
                             composite.get("uid", ""))
        return fn


def _map(fd: int):
    """A read-only shared map of the whole file, its pages mapped up front where Linux offers that.

    The weights are written out in full anyway: one ``MAP_POPULATE`` walk of the page cache
    costs far less than a page fault per 4 KiB page during the write.
    """
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        return mmap.mmap(fd, 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ)
    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)


def _open(source) -> tuple[object, str]:
    """The file's bytes (a read-only memory map for a path: weights become views on it) and its name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = Path(source)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            return (_map(f.fileno()) if size else b""), str(path)
    except OSError as exc:
        raise InvalidModel(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_model(source) -> Model:
    """Decode a CNTK v2 ``.model`` (path or bytes); ``InvalidModel`` with one line when it is not one.

    Parameter and constant values are read-only NumPy views on the file (memory-mapped), not copies.
    """
    from google.protobuf.message import DecodeError

    from .proto import messages
    from .wire import set_aside

    data, path = _open(source)
    dec = _Decoder(path)
    if data[:6] == "BCN".encode("utf-16-le"):
        dec.fail("a CNTK v1 (BrainScript) model; only CNTK v2 .model files (Function.save) can be read")
    msg = messages()["Dictionary"]()
    try:
        stripped, dec.spans = set_aside(data, msg.DESCRIPTOR)
        msg.ParseFromString(bytes(data) if stripped is None else stripped)  # None: nothing large to set aside
    except (DecodeError, RuntimeError, ValueError) as exc:
        dec.fail(f"not a CNTK v2 .model file (corrupt or truncated protobuf: {str(exc).splitlines()[0]})")
    dec.data = data
    top = dec.dictionary(msg, "model")
    if top.get("type") != "CompositeFunction":
        dec.fail("not a CNTK v2 .model file (no CompositeFunction dictionary at the top)")
    del msg, stripped  # everything is decoded; the weights are views on ``data``
    variables = dec.entries(top, "inputs", dec.variable)
    functions = dec.entries(top, "primitive_functions", dec.function)
    model = Model(dec.require(top, "uid", str, "model"), top.get("name", "") or "",
                  int(dec.require(top, "version", int, "model")), dec.require(top, "root", str, "model"),
                  functions, variables, path)
    _link(model, dec)
    return model


def _output_count(model: Model, fn: Function, used: dict) -> int:
    if fn.op == "Combine":
        return len(fn.inputs)
    if fn.block is not None:
        return _output_count(model, model.functions[fn.block.root], used)
    return max(used.get(fn.uid, 0), 2 if fn.op == "TopK" else 1)


def _link(model: Model, dec: _Decoder) -> None:
    """Check that every reference resolves; give each function its output uids."""
    if model.root not in model.functions:
        dec.fail(f"model: root {model.root!r} is not one of its functions")
    used = {}
    for fn in model.functions.values():
        for uid in fn.inputs:
            m = _OUTPUT.match(uid)
            if uid in model.variables:
                continue
            if not (m and m.group(1) in model.functions):
                dec.fail(f"function {fn.uid!r} ({fn.op}): input {uid!r} is neither a stored variable nor a "
                         "function output (missing parameter?)")
            used[m.group(1)] = max(used.get(m.group(1), 0), int(m.group(2)) + 1)
        if fn.block is not None:
            if fn.block.root not in model.functions:
                dec.fail(f"function {fn.uid!r} ({fn.block.op_name} block): body root {fn.block.root!r} is missing")
            for inner, outer in fn.block.arguments.items():
                if inner not in model.variables or outer not in fn.inputs:
                    dec.fail(f"function {fn.uid!r} ({fn.block.op_name} block): bad argument {inner!r} -> {outer!r}")
    for fn in model.functions.values():
        fn.outputs = [f"{fn.uid}_Output_{i}" for i in range(_output_count(model, fn, used))]
    model._produced = {uid: (fn, i) for fn in model.functions.values() for i, uid in enumerate(fn.outputs)}
    for uid, (producer, index) in ((u, model.producer(u)) for fn in model.functions.values() for u in fn.inputs
                                   if u not in model.variables):
        if index >= len(producer.outputs):
            dec.fail(f"{uid!r}: function {producer.uid!r} has {len(producer.outputs)} output(s)")


# Delay operators read their first input from an earlier step: in a recurrence that edge closes a loop.
DELAYS = ("PastValue", "FutureValue")


def _producers(model: Model, fn: Function, stop: set, skip_recurrent=frozenset()) -> list:
    """Uids of the functions ``fn`` reads from (not through ``stop`` variables)."""
    inputs = fn.inputs[1:] if fn.uid in skip_recurrent else fn.inputs
    found = (None if name in stop else model.producer(name) for name in inputs)
    return [src[0].uid for src in found if src]


def _post_order(model: Model, roots: list, edges) -> list:
    """Uids reachable from ``roots`` through ``edges(uid)``, each after everything it reads."""
    order, state = [], {}
    for root in roots:
        stack = [(root, False)]
        while stack:
            uid, done = stack.pop()
            if done:
                state[uid] = 2
                order.append(uid)
            elif not state.get(uid):
                state[uid] = 1
                stack.append((uid, True))
                stack.extend((src, False) for src in reversed(edges(uid)) if not state.get(src))
    return order


def topological(model: Model, roots: list, stop: set) -> list:
    """Functions reachable from ``roots`` (not through ``stop`` variables, not into block bodies),
    producers first. A delay whose input depends on the delay itself (a recurrence) comes before
    that input's producer: the loop is cut at the delay, as CNTK evaluates it."""
    every = _post_order(model, roots, lambda uid: _producers(model, model.functions[uid], stop))
    recurrent = set()
    for uid in every:
        fn = model.functions[uid]
        src = model.producer(fn.inputs[0]) if fn.op in DELAYS and fn.inputs[0] not in stop else None
        if src and uid in _post_order(model, [src[0].uid],
                                      lambda u: _producers(model, model.functions[u], stop)):
            recurrent.add(uid)
    order = _post_order(model, roots, lambda uid: _producers(model, model.functions[uid], stop, recurrent))
    return [model.functions[uid] for uid in order]
