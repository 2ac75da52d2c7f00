"""The Caffe2 backend's operator table and the helpers every family shares.

Runtime-side code: runs inside the Caffe2 runtime (torch 1.10.2, CPython 3.9, numpy 1.23;
kept valid CPython 3.6). One small function per ONNX op, registered with the opset range
it handles: ``fn(inputs, attrs) -> list of outputs`` over numpy arrays, which only carry
values between Caffe2 operators: ``c2`` feeds them into a workspace, runs one real Caffe2
operator (``workspace.RunOperatorOnce``) and fetches its outputs. Shapes, dtypes and
attribute values are metadata and may be read with numpy (``ints``, ``.shape``,
``.reshape`` of a result to the shape ONNX gives it); every value is computed by Caffe2.
"""

import numpy as np
from caffe2.proto import caffe2_pb2
from caffe2.python import core, workspace

from onnxhub.optable import OpTable

TABLE = OpTable("the Caffe2 backend")

# numpy dtype name -> caffe2 TensorProto.DataType, for Cast ("to"); BYTE (3) aborts the process.
C2_TYPES = {"float32": caffe2_pb2.TensorProto.FLOAT, "int32": caffe2_pb2.TensorProto.INT32,
            "bool": caffe2_pb2.TensorProto.BOOL, "uint8": caffe2_pb2.TensorProto.UINT8,
            "int8": caffe2_pb2.TensorProto.INT8, "uint16": caffe2_pb2.TensorProto.UINT16,
            "int16": caffe2_pb2.TensorProto.INT16, "int64": caffe2_pb2.TensorProto.INT64,
            "float64": caffe2_pb2.TensorProto.DOUBLE}


def c2(op, inputs, n_out=1, inplace=False, **args):
    """Run one Caffe2 operator on numpy ``inputs``; its ``n_out`` outputs as numpy arrays.

    Blobs are named by position and overwritten by the next call: the workspace holds no state
    between operators. ``inplace``: the output is the first input's blob (ScatterAssign demands it).
    """
    names = []
    for i, x in enumerate(inputs):
        name = "_x%d" % i
        workspace.FeedBlob(name, np.ascontiguousarray(x))
        names.append(name)
    outs = names[:1] if inplace else ["_y%d" % i for i in range(n_out)]
    workspace.RunOperatorOnce(core.CreateOperator(op, names, outs, **args))
    return [workspace.FetchBlob(o) for o in outs]


def c1(op, inputs, **args):
    return c2(op, inputs, 1, **args)[0]


def cast(x, dtype):
    """``x`` as ``dtype`` by Caffe2's Cast (C++ conversion: integers wrap, floats truncate)."""
    dtype = np.dtype(dtype).name
    if x.dtype.name == dtype:
        return x
    return c1("Cast", [x], to=C2_TYPES[dtype]).reshape(x.shape)


def bshape(*xs):
    """The broadcast shape of the inputs (metadata: Caffe2 turns 0-d blobs into 1-element ones)."""
    return tuple(np.broadcast_shapes(*[x.shape for x in xs]))


def ints(x):
    """A 1-D int tensor input (shape, axes, pads...) as a Python list: metadata for Caffe2's arguments."""
    return [int(v) for v in np.asarray(x).reshape(-1)] if x is not None else None


def axes_of(node_axes, x, rank):
    """Axes from the attribute (older opsets) or the input (newer), made non-negative."""
    axes = node_axes if node_axes is not None else (ints(x) if x is not None else None)
    return None if axes is None else [a % rank if rank else a for a in axes]
