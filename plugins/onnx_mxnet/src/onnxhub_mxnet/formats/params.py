"""Read MXNet ``.params`` / NDArray-list files in pure Python.

Layout (little-endian; MXNet ``src/ndarray/ndarray.cc``): u64 0x112, u64 reserved,
u64 count, ``count`` arrays, u64 name count, names as u64 length + bytes. Each array:
u32 magic (V2 0xF993FAC9, V3 0xF993FACA with numpy shape semantics, V1 0xF993FAC8,
or, in files older than V1, the ndim itself), i32 storage type (V2/V3), shape (u32 ndim
+ i64 dims; legacy: u32 dims), i32 dev_type, i32 dev_id, i32 dtype, raw data.

Arrays are ``numpy.frombuffer`` views on a memory map: reading a 100 MB file copies
nothing until the ONNX initializers are written.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numpy as np

from onnxhub.errors import InvalidModel

LIST_MAGIC = 0x112
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
# mshadow type flags -> numpy dtypes (bfloat16, flag 12, has no numpy dtype: refused clearly).
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8, 6: np.int64,
          7: np.bool_, 8: np.int16, 9: np.uint16, 10: np.uint32, 11: np.uint64}
STORAGE = {0: "dense", 1: "row_sparse", 2: "csr"}


class _Reader:
    def __init__(self, buf, path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise InvalidModel(f"{self.path}: truncated .params file (needs {n} bytes at offset {self.pos}, "
                               f"file has {len(self.buf)})")
        view = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))


def _read_array(r: _Reader, index: int):
    (magic,) = r.unpack("<I")
    if magic in (V2, V3):
        (stype,) = r.unpack("<i")
        if stype != 0:
            kind = STORAGE.get(stype, f"storage type {stype}")
            raise InvalidModel(f"{r.path}: array #{index} uses {kind} storage; only dense arrays can become ONNX "
                               "initializers (convert it with .tostype('default') in MXNet first)")
        (ndim,) = r.unpack("<i")
        if magic == V3 and ndim == -1:
            return None
        if ndim < 0 or ndim > 32:
            raise InvalidModel(f"{r.path}: array #{index} has rank {ndim}; corrupt .params file")
        shape = r.unpack(f"<{ndim}q") if ndim > 0 else ()
        if magic == V2 and ndim == 0:
            return None  # an empty (none) NDArray
    elif magic == V1:
        (ndim,) = r.unpack("<I")
        if ndim > 32:
            raise InvalidModel(f"{r.path}: array #{index} has rank {ndim}; corrupt .params file")
        shape = r.unpack(f"<{ndim}q")
    else:  # before V1 the first word was the ndim, followed by u32 dims
        ndim = magic
        if ndim > 32:
            raise InvalidModel(f"{r.path}: array #{index} has unknown magic 0x{magic:08X}; not an MXNet .params file")
        shape = r.unpack(f"<{ndim}I")
    if any(d < 0 for d in shape):
        raise InvalidModel(f"{r.path}: array #{index} has a negative dimension {shape}")
    r.unpack("<ii")  # context: dev_type, dev_id (weights always load on CPU)
    (flag,) = r.unpack("<i")
    if flag not in DTYPES:
        name = "bfloat16" if flag == 12 else f"type flag {flag}"
        raise InvalidModel(f"{r.path}: array #{index} has dtype {name}, which has no ONNX-exportable numpy type")
    dtype = np.dtype(DTYPES[flag])
    count, nonzero = 1, 1
    for d in shape:  # Python ints: a dims product that wraps int64 must not pass as a small size
        count *= int(d)
        nonzero *= int(d) or 1
    if nonzero >= 2**63:  # numpy cannot describe such a shape even when a zero dim makes it empty
        raise InvalidModel(f"{r.path}: array #{index} has shape {tuple(shape)}, whose size does not fit in "
                           "64 bits (corrupt .params file)")
    if count * dtype.itemsize > len(r.buf) - r.pos:
        raise InvalidModel(f"{r.path}: array #{index} of shape {tuple(shape)} needs {count * dtype.itemsize} bytes; "
                           f"only {len(r.buf) - r.pos} remain (corrupt or truncated .params file)")
    data = r.take(count * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def load_params(path) -> dict[str, np.ndarray]:
    """``{name: array}`` with MXNet's ``arg:``/``aux:`` prefixes removed (read-only views)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else b""
    except OSError as exc:
        raise InvalidModel(f"{path}: cannot read ({exc.strerror})") from exc
    r = _Reader(buf, path)
    header, _reserved = r.unpack("<QQ")
    if header != LIST_MAGIC:
        raise InvalidModel(f"{path}: not an MXNet .params file (magic 0x{header:X}, expected 0x112)")
    (count,) = r.unpack("<Q")
    if count > len(buf):
        raise InvalidModel(f"{path}: corrupt .params file (claims {count} arrays)")
    arrays = [_read_array(r, i) for i in range(count)]
    (nnames,) = r.unpack("<Q")
    if nnames not in (0, count):
        raise InvalidModel(f"{path}: corrupt .params file ({nnames} names for {count} arrays)")
    names = []
    for _ in range(nnames):
        (n,) = r.unpack("<Q")
        names.append(bytes(r.take(n)).decode("utf-8", "replace"))
    if count and not names:
        raise InvalidModel(f"{path}: the arrays have no names; cannot match them to the symbol")
    out = {}
    for name, arr in zip(names, arrays):
        if arr is None:
            continue
        out[name.split(":", 1)[1] if name.startswith(("arg:", "aux:")) else name] = arr
    return out


_FLAGS = {np.dtype(v): k for k, v in DTYPES.items()}


def save_params(path, arrays: dict[str, np.ndarray]) -> None:
    """Write an MXNet NDArray-list file (V2 dense arrays) that ``mx.nd.load`` reads.

    Keys keep their ``arg:``/``aux:`` prefixes; arrays are written straight from their
    buffers, one at a time.
    """
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays)))
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            if arr.dtype not in _FLAGS:
                raise InvalidModel(f"{name}: MXNet has no {arr.dtype} arrays")
            shape = arr.shape if arr.ndim else (1,)  # MXNet's legacy arrays have no 0-d form
            f.write(struct.pack("<Ii", V2, 0))
            f.write(struct.pack("<i", len(shape)) + struct.pack(f"<{len(shape)}q", *shape))
            f.write(struct.pack("<iii", 1, 0, _FLAGS[arr.dtype]))
            f.write(memoryview(arr).cast("B") if arr.size else b"")
        f.write(struct.pack("<Q", len(arrays)))
        for name in arrays:
            data = name.encode("utf-8")
            f.write(struct.pack("<Q", len(data)) + data)
