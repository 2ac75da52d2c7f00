"""The runtime-side worker loop, and the frame format both sides share.

This file runs *by path* inside a runtime's own interpreter (``python -I worker.py
HANDLER_MODULE FOLDER...``), where onnxhub is not installed: standard library plus
numpy, valid Python 3.6 (no walrus, no ``from __future__ import annotations``). The hub
imports the same file as ``onnxhub.runtime_side.worker`` to reuse the frame code, so
there is one implementation of the protocol.

Before it imports the handler, the worker registers two *bare* packages: ``onnxhub``
(this file's grandparent folder) and the handler's top-level package (found in the
FOLDERs the hub passes). A bare package's ``__init__.py`` never runs (onnxhub's imports
pluggy, a plugin's imports onnxhub), but its submodules import as usual: the handler
does ``from .ops import TABLE`` and ``from onnxhub.runtime_side.plans import PlanStore``
with no ``sys.path`` edit.

A frame is ``u64 little-endian header length``, the JSON header, then one ``.npy``
payload per array named in ``header["arrays"]``. Never pickle: numpy 2 pickles do not
load in numpy 1.x, and unpickling runs code.

Requests:  ``{"id", "method", "params", "arrays": [key, ...]}``
Responses: ``{"id", "ok": true, "result", "arrays": [key, ...]}`` or
           ``{"id", "ok": false, "error": {"type", "message", "traceback"[, "class", "fields"]}}``
``class`` and ``fields`` come with an ``onnxhub.errors`` exception: its class name and
its JSON-able attributes, so the hub raises the same class with the same fields.
The handler module's function ``method(params, arrays) -> dict`` answers a request;
ndarray values of the returned dict travel as payloads, the rest as JSON.
"""

import importlib
import importlib.machinery
import importlib.util
import io
import json
import os
import struct
import sys
import traceback

import numpy as np

_LEN = struct.Struct("<Q")
MAX_HEADER = 64 * 1024 * 1024


class FrameError(Exception):
    """The byte stream is not a well-formed frame."""


# -- writing ---------------------------------------------------------------------
def frame_chunks(header, arrays):
    """The byte chunks of one frame; array data is passed as memoryviews, not copied."""
    arrays = list(arrays)
    header = dict(header)
    body = json.dumps(header).encode("utf-8")
    chunks = [_LEN.pack(len(body)), body]
    for arr in arrays:
        if arr.dtype.hasobject:
            raise TypeError("object arrays cannot cross the runtime boundary")
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, np.lib.format.header_data_from_array_1_0(arr))
        chunks.append(buf.getvalue())
        if arr.nbytes:
            chunks.append(memoryview(arr.reshape(-1)).cast("B"))
    return chunks


def split_arrays(result):
    """``{"a": 1, "x": ndarray}`` -> (``{"a": 1}``, ``["x"]``, ``[ndarray]``)."""
    plain, keys, arrays = {}, [], []
    for key, value in result.items():
        if isinstance(value, np.ndarray) or isinstance(value, np.generic):
            keys.append(key)
            arrays.append(np.asarray(value))
        else:
            plain[key] = value
    return plain, keys, arrays


# -- reading ---------------------------------------------------------------------
def read_frame(read_into):
    """Read one frame with ``read_into(memoryview)`` (fills it fully or raises EOFError).

    Returns ``(header, {key: array})``.
    """
    raw = bytearray(_LEN.size)
    read_into(memoryview(raw))
    (size,) = _LEN.unpack(bytes(raw))
    if size > MAX_HEADER:
        raise FrameError("header length %d is implausible" % size)
    body = bytearray(size)
    read_into(memoryview(body))
    try:
        header = json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise FrameError("header is not JSON: %s" % exc)
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise FrameError("header is not a frame header")
    arrays = {}
    for key in header.get("arrays", []):
        arrays[key] = _read_npy(read_into)
    return header, arrays


def _read_npy(read_into):
    prefix = bytearray(8)
    read_into(memoryview(prefix))
    if bytes(prefix[:6]) != b"\x93NUMPY":
        raise FrameError("payload is not .npy data")
    major = prefix[6]
    len_size = 2 if major == 1 else 4
    raw = bytearray(len_size)
    read_into(memoryview(raw))
    hlen = struct.unpack("<H" if len_size == 2 else "<I", bytes(raw))[0]
    text = bytearray(hlen)
    read_into(memoryview(text))
    try:
        import ast

        meta = ast.literal_eval(text.decode("latin1"))
        dtype = np.dtype(np.lib.format.descr_to_dtype(meta["descr"])) if hasattr(np.lib.format, "descr_to_dtype") \
            else np.dtype(meta["descr"])
        shape, fortran = tuple(meta["shape"]), meta["fortran_order"]
    except Exception as exc:
        raise FrameError("bad .npy header: %s" % exc)
    if dtype.hasobject:
        raise FrameError("object arrays are refused")
    arr = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    if arr.nbytes:
        read_into(memoryview(arr.reshape(-1, order="A")).cast("B"))
    return arr


def reader(stream):
    """``read_into`` over a blocking binary stream."""

    def read_into(view):
        pos, n = 0, len(view)
        while pos < n:
            got = stream.readinto(view[pos:])
            if not got:
                raise EOFError("stream closed")
            pos += got

    return read_into


# -- the loop --------------------------------------------------------------------
def bare_package(name, folders):
    """Register package ``name`` over ``folders`` without running its ``__init__.py``."""
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = list(folders)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


def load_handler(module, folders):
    """Import the handler ``module`` (dotted name) whose top-level package lies in ``folders``."""
    onnxhub_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bare_package("onnxhub", [onnxhub_dir])
    top = module.split(".")[0]
    if top != "onnxhub":
        spec = importlib.machinery.PathFinder.find_spec(top, list(folders))
        if spec is None:
            raise ImportError("handler package %r not found in %s" % (top, list(folders)))
        if spec.submodule_search_locations is not None:
            bare_package(top, spec.submodule_search_locations)
        else:  # a single-file handler
            sys.modules[top] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules[top])
    return importlib.import_module(module)


def error_header(exc):
    """The ``error`` of a response; an ``onnxhub.errors`` class travels as its name and fields."""
    err = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
    errors = sys.modules.get("onnxhub.errors")
    if errors is not None and getattr(errors, type(exc).__name__, None) is type(exc):
        err["class"] = type(exc).__name__
        err["fields"] = {k: v for k, v in vars(exc).items() if _jsonable(v)}
    return err


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def serve(handler, inp, out):
    read_into = reader(inp)
    while True:
        try:
            header, arrays = read_frame(read_into)
        except EOFError:
            return 0  # the hub went away: exit quietly
        rid = header.get("id")
        try:
            method = header.get("method", "")
            fn = getattr(handler, method, None) if not method.startswith("_") else None
            if fn is None and method == "ping":
                fn = _ping
            if fn is None:
                raise AttributeError("the runtime's handler has no method %r" % method)
            result = fn(header.get("params") or {}, arrays)
            plain, keys, values = split_arrays(result or {})
            chunks = frame_chunks({"id": rid, "ok": True, "result": plain, "arrays": keys}, values)
        except Exception as exc:
            chunks = frame_chunks({"id": rid, "ok": False, "error": error_header(exc), "arrays": []}, [])
        for chunk in chunks:
            out.write(chunk)
        out.flush()


def _ping(params, arrays):
    return {"python": "%d.%d.%d" % sys.version_info[:3], "numpy": np.__version__, "pid": os.getpid()}


PROTOCOL_FD = None  # the private copy of stdout that carries frames (for fault tests)


def main(argv):
    global PROTOCOL_FD
    inp = io.FileIO(os.dup(0), "rb")
    PROTOCOL_FD = os.dup(1)
    out = io.FileIO(PROTOCOL_FD, "wb")
    os.dup2(2, 1)  # whatever the framework prints goes to stderr, never into a frame
    sys.stdout = sys.stderr
    handler = load_handler(argv[1], argv[2:]) if len(argv) > 1 else None
    return serve(handler, inp, io.BufferedWriter(out, 1 << 20))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
