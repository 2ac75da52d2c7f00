"""Reading and writing ONNX models safely.

Every path into onnxhub goes through ``load_model``: a missing, truncated or random
file, a model that fails ``onnx.checker``, or external data pointing outside the
model's folder becomes ``InvalidModel`` with a one-line message. Writes are atomic.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import InvalidModel, UsageError


def _tensors(graph):
    """Every TensorProto in a graph and its subgraphs (where external data may hide)."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def check_external_data(model, base_dir: Path) -> None:
    """Refuse external-data locations outside ``base_dir`` (absolute, ``..``, symlinks)."""
    from onnx import TensorProto

    root = base_dir.resolve()
    for tensor in _tensors(model.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        where = f"tensor {tensor.name!r}: external data location {location!r}"
        if not location:
            raise InvalidModel(f"{where} is empty")
        if os.path.isabs(location) or Path(location).drive:
            raise InvalidModel(f"{where} is an absolute path; it must be relative to the model's folder")
        if ".." in Path(location).parts:
            raise InvalidModel(f"{where} escapes the model's folder ('..')")
        target = (root / location).resolve()
        if not target.is_relative_to(root):
            raise InvalidModel(f"{where} resolves outside the model's folder (symlink to {target})")
        if not target.is_file():
            raise InvalidModel(f"{where} does not exist next to the model")
        size = target.stat().st_size
        offset, length = int(info.get("offset", 0) or 0), int(info.get("length", 0) or 0)
        if offset + length > size:
            raise InvalidModel(f"{where} is truncated: needs {offset + length} bytes, file has {size}")


def load_model(model, *, check: bool = True):
    """Load and validate an ONNX model from a path, bytes, or a ``ModelProto``."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, (bytes, bytearray)):
        proto = _parse(bytes(model), "<bytes>", DecodeError)
    else:
        path = Path(model)
        if not path.exists():
            raise InvalidModel(f"{path}: no such file")
        if not path.is_file():
            raise InvalidModel(f"{path}: not a file")
        proto = _parse(path.read_bytes(), str(path), DecodeError)
        check_external_data(proto, path.parent)
        try:
            onnx.load_external_data_for_model(proto, str(path.parent))
        except Exception as exc:
            raise InvalidModel(f"{path}: cannot read external data: {exc}") from exc
    if check:
        check_model(proto)
    return proto


def _parse(data: bytes, where: str, DecodeError):
    import onnx

    if not data:
        raise InvalidModel(f"{where}: empty file, not an ONNX model")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidModel(f"{where}: not a valid ONNX model (truncated or corrupt protobuf: {exc})") from exc
    # Random bytes occasionally parse as a protobuf; a real model always has these.
    if proto.ir_version <= 0 or not proto.HasField("graph"):
        raise InvalidModel(f"{where}: not an ONNX model (no IR version or graph)")
    return proto


def check_model(proto) -> None:
    """``onnx.checker`` as an ``InvalidModel`` with its first line."""
    import onnx

    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidModel(f"model fails onnx.checker: {first}") from exc
    except ValueError as exc:  # e.g. > 2 GB in memory
        raise InvalidModel(f"model fails onnx.checker: {exc}") from exc


# -- atomic output -----------------------------------------------------------
def refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")


def refuse_nonempty(path: Path, force: bool) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} exists and is not a folder")
    if path.exists() and any(path.iterdir()) and not force:
        raise UsageError(f"{path} already exists and is not empty (use --force to overwrite)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path, *, force: bool = False):
    """Yield a temporary path next to ``path``; move it into place only on success."""
    path = Path(path)
    refuse_existing(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_dir(path, *, force: bool = False):
    """Yield an empty staging folder; it replaces ``path`` only on success."""
    path = Path(path)
    refuse_nonempty(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield stage
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
        for child in stage.rglob("*"):
            if child.is_file():
                os.chmod(child, 0o666 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(stage, path)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


PROTOBUF_LIMIT = 2_000_000_000


def check_streamed(model, weights) -> None:
    """``onnx.checker`` on a model whose initializers arrive separately as ``(name, array)``.

    The checker sees every weight as a typed graph input (no data copied), so it checks
    the graph, node schemas and types; the payloads are written by ``numpy_helper``.
    """
    from onnx import helper

    probe = type(model)()
    probe.CopyFrom(model)
    probe.graph.input.extend(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
                             for n, a in weights)
    check_model(probe)


def save_streaming(model, weights, path, *, force: bool = False) -> Path:
    """Write ``model`` plus its initializers, one tensor at a time.

    Protobuf merges concatenated messages, so the file is the serialized model followed by
    one ``ModelProto{graph{initializer}}`` fragment per weight: peak memory is the model
    structure plus one tensor, not the whole model twice.
    """
    total = sum(a.nbytes for _, a in weights)
    if total > PROTOBUF_LIMIT:
        raise UsageError(f"the weights ({total / 1e9:.1f} GB) exceed protobuf's 2 GB limit for one ONNX file")
    path = Path(path)
    with atomic_file(path, force=force) as tmp:
        with open(tmp, "wb") as f:
            f.write(model.SerializeToString())
            for name, arr in weights:
                for chunk in _initializer_fragment(name, arr):
                    f.write(chunk)
    return path


# Field numbers in onnx.proto: ModelProto.graph 7, GraphProto.initializer 5, TensorProto.raw_data 9.
_GRAPH, _INITIALIZER, _RAW_DATA = 7, 5, 9


def _initializer_fragment(name: str, arr) -> list:
    """The bytes of ``ModelProto{graph{initializer: tensor}}``, the array's memory written as is.

    The tensor's small fields (name, dims, type) are serialized by protobuf; ``raw_data`` is
    framed by hand, so a weight is never copied into a TensorProto and again into a string.
    Types without a plain little-endian buffer go through ``numpy_helper.from_array``.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    arr = np.asarray(arr)
    if arr.dtype.kind in "biuf" and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # a big-endian weight file, say
    try:
        elem_type = helper.np_dtype_to_tensor_dtype(arr.dtype) if arr.dtype.kind in "biuf" else None
    except (KeyError, TypeError, ValueError):
        elem_type = None
    if elem_type is None or sys.byteorder != "little":
        fragment = onnx.ModelProto()
        fragment.graph.initializer.append(numpy_helper.from_array(arr, name))
        return [fragment.SerializeToString()]
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # not np.ascontiguousarray: it makes 0-d arrays 1-d
    head = onnx.TensorProto(name=name, dims=arr.shape, data_type=elem_type).SerializeToString()
    tensor = head + _key(_RAW_DATA) + _varint(arr.nbytes)
    tensor_len = len(tensor) + arr.nbytes
    graph = _key(_INITIALIZER) + _varint(tensor_len)
    model = _key(_GRAPH) + _varint(len(graph) + tensor_len)
    return [model + graph + tensor, memoryview(arr.reshape(-1)).cast("B")]


def _key(field: int) -> bytes:
    return _varint(field << 3 | 2)  # wire type 2: length-delimited


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def save_model(model, path, *, force: bool = False) -> Path:
    import onnx

    path = Path(path)
    with atomic_file(path, force=force) as tmp:
        if model.ByteSize() > 1_800_000_000:  # protobuf's 2 GB limit: weights go beside it
            onnx.save_model(model, str(tmp), save_as_external_data=True, location=path.name + ".data")
        else:
            onnx.save_model(model, str(tmp))
    return path
