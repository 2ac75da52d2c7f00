"""A protobuf wire-format walker for binary NetDefs, so weights are never decoded value by value.

Caffe2 writes a weight as ``GivenTensorFill`` with ``values`` in ``Argument.floats``, a
proto2 repeated float field that is *not* packed: one tag byte (0x2D) and four
little-endian bytes per value. Those bytes are a strided float32 array already, so the
reader walks the NetDef's ops and arguments here (a few hundred small fields) and turns a
large ``floats`` run into a numpy view with a 5-byte stride on the (memory-mapped) file:
no Python float per value, no copy until the weight is written. Packed runs (``0x2A``)
become plain views. Every other argument is parsed by protobuf from its own bytes.
Lengths past the end of the data are truncation, unknown wire types corruption:
``WireError``, which the caller turns into ``InvalidModel``.
"""

from __future__ import annotations

import numpy as np

_FLOAT_TAG, _PACKED_FLOATS_TAG = 0x2D, 0x2A  # Argument.floats (field 5): fixed32, or packed
BIG = 256  # an Argument longer than this many bytes is checked for a floats run


class WireError(ValueError):
    pass


def varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def fields(buf, pos: int, end: int):
    """``(field number, wire type, value or (start, stop))`` for each field in ``buf[pos:end]``."""
    while pos < end:
        key, pos = varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == 0:
            value, pos = varint(buf, pos, end)
            yield number, wire, value
        elif wire == 1:
            if pos + 8 > end:
                raise WireError("truncated fixed64")
            yield number, wire, (pos, pos + 8)
            pos += 8
        elif wire == 2:
            length, pos = varint(buf, pos, end)
            if pos + length > end:
                raise WireError("length past the end of the data (truncated)")
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire == 5:
            if pos + 4 > end:
                raise WireError("truncated fixed32")
            yield number, wire, (pos, pos + 4)
            pos += 4
        else:
            raise WireError(f"wire type {wire} (corrupt data)")


def float_run(buf, start: int, end: int):
    """The values of an Argument's ``floats`` as a float32 view when ``buf[start:end]`` (the Argument's
    fields after its name) is one run of them, unpacked or packed; else None."""
    size = end - start
    if size <= 0:
        return None
    raw = np.frombuffer(buf, dtype=np.uint8, count=size, offset=start)
    if raw[0] == _FLOAT_TAG and size % 5 == 0:
        ok = bool(np.all(raw[::5] == _FLOAT_TAG))
        release(buf, start, end)
        if not ok:
            return None
        return np.ndarray(shape=(size // 5,), dtype="<f4", buffer=buf, offset=start + 1, strides=(5,))
    if raw[0] == _PACKED_FLOATS_TAG:
        length, pos = varint(buf, start + 1, end)
        if pos + length == end and length % 4 == 0:
            return np.frombuffer(buf, dtype="<f4", count=length // 4, offset=pos)
    return None


def release(buf, start: int, end: int) -> None:
    """Drop this process's pages of ``buf[start:end]`` when ``buf`` is a memory-mapped file.

    Safe at any time: the mapping is read-only and file-backed, so a later read of the range
    faults the data back in from the page cache. It keeps the peak memory of an export near
    the size of the weights being written, not of the whole file.
    """
    import mmap

    advise = getattr(buf, "madvise", None)
    if advise is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    page = mmap.PAGESIZE
    lo, hi = -(-start // page) * page, end // page * page
    if hi > lo:
        try:
            advise(mmap.MADV_DONTNEED, lo, hi - lo)
        except (OSError, ValueError):
            pass
