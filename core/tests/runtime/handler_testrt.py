"""Runtime-side handler of the test runtime (CPython 3.6 + numpy 1.19.5, no framework).

Valid Python 3.6: it runs inside that interpreter, loaded by path by the worker.
"""

import ctypes
import os
import sys
import time

import numpy as np


def echo(params, arrays):
    print("a stray print must not corrupt the protocol")
    out = dict(arrays)
    out["python"] = "%d.%d" % sys.version_info[:2]
    out["numpy"] = np.__version__
    return out


def add(params, arrays):
    return {"sum": arrays["a"] + arrays["b"] * params.get("scale", 1)}


def fail(params, arrays):
    raise ValueError("bad value from the runtime: %s" % params.get("what"))


def crash(params, arrays):
    sys.stderr.write("about to exit hard\n")
    sys.stderr.flush()
    os._exit(7)


def segfault(params, arrays):
    ctypes.string_at(0)


def hang(params, arrays):
    time.sleep(3600)


def garbage(params, arrays):
    import __main__

    os.write(__main__.PROTOCOL_FD, b"\xff" * 32)
    time.sleep(3600)


def pid(params, arrays):
    return {"pid": os.getpid()}
