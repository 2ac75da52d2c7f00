"""Shape and layout ops: Concat, Split, Reshape, Flatten, Transpose, ExpandDims, Squeeze, Cast, copies."""

from __future__ import annotations

from onnx import TensorProto

from ..convert import TABLE

# Caffe2 TensorProto.DataType -> ONNX TensorProto.DataType
_DTYPES = {1: TensorProto.FLOAT, 2: TensorProto.INT32, 3: TensorProto.UINT8, 4: TensorProto.STRING,
           5: TensorProto.BOOL, 6: TensorProto.UINT8, 7: TensorProto.INT8, 8: TensorProto.UINT16,
           9: TensorProto.INT16, 10: TensorProto.INT64, 12: TensorProto.FLOAT16, 13: TensorProto.DOUBLE}
_DTYPE_NAMES = {"FLOAT": 1, "INT32": 2, "BYTE": 3, "STRING": 4, "BOOL": 5, "UINT8": 6, "INT8": 7, "UINT16": 8,
                "INT16": 9, "INT64": 10, "FLOAT16": 12, "DOUBLE": 13}


def _axis(ctx, op, default=1) -> int:
    if "axis" in op.args:
        return int(op.arg("axis"))
    order = op.arg("order", "NCHW")
    if order not in ("NCHW", "NHWC"):
        raise ctx.unsupported(f"order {order!r}")
    return 1 if order == "NCHW" else 3 if "order" in op.args else default


@TABLE.register("Concat", "DepthConcat")
def concat(ctx, op, inputs):
    """Concat (axis or order; add_axis stacks; the split-info output is training-only)"""
    axis = _axis(ctx, op)
    if int(op.arg("add_axis", 0)):
        inputs = [ctx.unsqueeze(t, [axis]) for t in inputs]
    return [ctx.one("Concat", inputs, axis=axis), None]


@TABLE.register("Split", "DepthSplit")
def split(ctx, op, inputs):
    """Split (axis or order; sizes from `split` or a second input, else equal parts)"""
    axis = _axis(ctx, op)
    sizes = op.arg("split")
    if len(inputs) > 1:
        arr = ctx.value(inputs[1])
        if arr is None:
            raise ctx.unsupported("split sizes from a computed blob")
        sizes = arr.reshape(-1).tolist()
    if sizes is not None and len(sizes):
        return ctx.split(inputs[0], axis, sizes=list(sizes))
    return ctx.split(inputs[0], axis, parts=len(op.outputs))


@TABLE.register("Reshape")
def reshape(ctx, op, inputs):
    """Reshape (shape as argument or as an int blob; 0 copies, -1 infers; old_shape output is training-only)"""
    if len(inputs) > 1:
        arr = ctx.value(inputs[1])
        shape = ctx.ints(arr.reshape(-1).tolist()) if arr is not None else ctx.one(
            "Cast", [inputs[1]], to=TensorProto.INT64)
    else:
        shape = ctx.ints([int(d) for d in op.arg("shape", [])])
    return [ctx.one("Reshape", [inputs[0], shape]), None]


@TABLE.register("Flatten")
def flatten(ctx, op, inputs):
    """Flatten (axis)"""
    return [ctx.one("Flatten", inputs[:1], axis=int(op.arg("axis", 1)))]


@TABLE.register("FlattenToVec")
def flatten_to_vec(ctx, op, inputs):
    """Reshape to [-1]"""
    return [ctx.one("Reshape", [inputs[0], ctx.ints([-1])])]


@TABLE.register("Transpose", "NCHW2NHWC", "NHWC2NCHW")
def transpose(ctx, op, inputs):
    """Transpose (axes, default reversed)"""
    if op.type == "NCHW2NHWC":
        return [ctx.one("Transpose", inputs[:1], perm=[0, 2, 3, 1])]
    if op.type == "NHWC2NCHW":
        return [ctx.one("Transpose", inputs[:1], perm=[0, 3, 1, 2])]
    axes = op.arg("axes")
    return [ctx.one("Transpose", inputs[:1], perm=[int(a) for a in axes] if axes is not None and len(axes) else None)]


@TABLE.register("ExpandDims")
def expand_dims(ctx, op, inputs):
    """Unsqueeze (dims)"""
    return [ctx.unsqueeze(inputs[0], sorted(int(d) for d in op.arg("dims", [])))]


@TABLE.register("Squeeze")
def squeeze(ctx, op, inputs):
    """Squeeze (dims)"""
    dims = op.arg("dims")
    return [ctx.squeeze(inputs[0], sorted(int(d) for d in dims) if dims is not None and len(dims) else None)]


@TABLE.register("Copy", "Alias", "StopGradient", "EnsureCPUOutput", "CopyFromCPUInput", "EnsureDense")
def copy(ctx, op, inputs):
    """Identity"""
    return [ctx.one("Identity", inputs[:1])]


@TABLE.register("Cast")
def cast(ctx, op, inputs):
    """Cast (`to` as a DataType number or name)"""
    to = op.arg("to", 1)
    if isinstance(to, (str, bytes)):
        to = _DTYPE_NAMES.get(to.decode() if isinstance(to, bytes) else to.upper(), -1)
    if int(to) not in _DTYPES:
        raise ctx.unsupported(f"Cast to data type {to}")
    return [ctx.one("Cast", inputs[:1], to=_DTYPES[int(to)])]

