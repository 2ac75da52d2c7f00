"""Shape and indexing ops: concat, reshape, transpose, slicing, reductions, dot, take, pad."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..convert import TABLE, attrs

INT_MAX = np.iinfo(np.int64).max


@TABLE.register("Concat", "concat")
def concat(ctx, node, inputs):
    axis = attrs(node).int("dim", 1)
    values = [ctx.value(i) for i in inputs]
    if all(v is not None for v in values):  # weights being packed (e.g. for RNN): fold now
        return [ctx.const(np.concatenate(values, axis=axis), name=node.name)]
    return [ctx.one("Concat", inputs, axis=axis)]


@TABLE.register("stack")
def stack(ctx, node, inputs):
    axis = attrs(node).int("axis", 0)
    return [ctx.one("Concat", [ctx.unsqueeze(x, [axis]) for x in inputs], axis=axis)]


@TABLE.register("transpose")
def transpose(ctx, node, inputs):
    axes = attrs(node).ints("axes") or []
    return [ctx.one("Transpose", inputs[:1], perm=axes or None)]


@TABLE.register("SwapAxis", "swapaxes")
def swapaxes(ctx, node, inputs):
    a = attrs(node)
    perm = list(range(ctx.rank_of(inputs[0])))
    d1, d2 = a.int("dim1", 0), a.int("dim2", 0)
    perm[d1], perm[d2] = perm[d2], perm[d1]
    return [ctx.one("Transpose", inputs[:1], perm=perm)]


@TABLE.register("expand_dims")
def expand_dims(ctx, node, inputs):
    return [ctx.unsqueeze(inputs[0], [attrs(node).int("axis")])]


@TABLE.register("squeeze")
def squeeze(ctx, node, inputs):
    return [ctx.squeeze(inputs[0], attrs(node).ints("axis") or None)]


@TABLE.register("Reshape", "reshape")
def reshape(ctx, node, inputs):
    """MXNet's reshape codes: 0 copy, -1 infer, -2 copy the rest, -3 merge two, -4 split one."""
    a = attrs(node)
    shape = a.ints("shape")
    if shape is None:
        target = a.ints("target_shape")  # Reshape of MXNet < 0.9
        if not target:
            raise ctx.unsupported("no shape attribute")
        shape = target
    x = inputs[0]
    if a.bool("reverse", False):
        raise ctx.unsupported("reverse=True")
    value = ctx.value(x)
    if value is not None and all(d >= -1 for d in shape):  # a weight being reshaped: fold now
        target = [value.shape[i] if d == 0 else d for i, d in enumerate(shape)]
        return [ctx.const(value.reshape(target), name=node.name)]
    if all(d >= -1 for d in shape):  # ONNX Reshape handles 0 (copy) and -1 (infer) itself
        return [ctx.one("Reshape", [x, ctx.ints(shape)])]
    static = _static_target(ctx.shape_of(x), shape)
    if static is not None:
        return [ctx.one("Reshape", [x, ctx.ints(static)])]
    dims = ctx.one("Shape", [x])

    def dim(i, j=None):  # input dims i..j as a 1-D int64 tensor
        return ctx.slice(dims, [i], [j if j is not None else i + 1])

    pieces, i, k = [], 0, 0  # i: input dim, k: position in shape
    while k < len(shape):
        code = shape[k]
        if code > 0 or code == -1:
            pieces.append(ctx.ints([code]))
            i += 1
        elif code == 0:
            pieces.append(dim(i))
            i += 1
        elif code == -2:
            pieces.append(ctx.slice(dims, [i], [None]))
            i = None
        elif code == -3:
            pieces.append(ctx.one("Mul", [dim(i), dim(i + 1)]))
            i += 2
        elif code == -4:
            d1, d2 = shape[k + 1], shape[k + 2]
            if d1 == -1:
                pieces += [ctx.one("Div", [dim(i), ctx.ints([d2])]), ctx.ints([d2])]
            elif d2 == -1:
                pieces += [ctx.ints([d1]), ctx.one("Div", [dim(i), ctx.ints([d1])])]
            else:
                pieces.append(ctx.ints([d1, d2]))
            i += 1
            k += 2
        else:
            raise ctx.unsupported(f"shape code {code}")
        if i is None and k + 1 < len(shape):
            raise ctx.unsupported("shape code -2 before other codes")
        k += 1
    return [ctx.one("Reshape", [x, ctx.one("Concat", pieces, axis=0)])]


def _static_target(dims, shape):
    """MXNet's reshape codes worked out in Python when the input dims are known.

    A dynamic batch (dims[0] None) that lands on output position 0 is written as ONNX's
    0 ("copy"). Returns None when the target depends on other unknown dims.
    """
    if dims is None:
        return None
    out, i, k = [], 0, 0
    while k < len(shape):
        code = shape[k]
        if code > 0 or code == -1:
            out.append(code)
            i += 1
        elif code == 0:
            out.append(dims[i])
            i += 1
        elif code == -2:
            out += dims[i:]
            i = len(dims)
        elif code == -3:
            a, b = dims[i], dims[i + 1]
            out.append(a * b if a is not None and b is not None else None)
            i += 2
        elif code == -4:
            d1, d2 = shape[k + 1], shape[k + 2]
            if dims[i] is not None:
                d1 = dims[i] // d2 if d1 == -1 else d1
                d2 = dims[i] // d1 if d2 == -1 else d2
            elif -1 in (d1, d2):
                return None
            out += [d1, d2]
            i += 1
            k += 2
        else:
            return None
        k += 1
    if any(d is None for d in out[1:]) or (out and out[0] is None and dims[0] is not None):
        return None
    return [0 if d is None else d for d in out]


@TABLE.register("slice", "crop", "_slice")
def slice_(ctx, node, inputs):
    a = attrs(node)
    begin, end = a.ints("begin"), a.ints("end")
    step = a.ints("step") or [1] * len(begin)
    begins, ends, steps = [], [], []
    for b, e, s in zip(begin, end, step + [1] * (len(begin) - len(step))):
        s = 1 if s is None else s
        begins.append(b if b is not None else (0 if s > 0 else -1))
        ends.append(e if e is not None else (INT_MAX if s > 0 else -INT_MAX))
        steps.append(s)
    return [ctx.slice(inputs[0], begins, ends, steps=steps)]


@TABLE.register("slice_axis")
def slice_axis(ctx, node, inputs):
    a = attrs(node)
    return [ctx.slice(inputs[0], [a.int("begin", 0)], [a.int("end")], axes=[a.int("axis")])]


@TABLE.register("slice_like")
def slice_like(ctx, node, inputs):
    x, like = inputs[:2]
    axes = attrs(node).ints("axes") or list(range(ctx.rank_of(like)))
    ends = ctx.one("Gather", [ctx.one("Shape", [like]), ctx.ints(axes)], axis=0)
    return [ctx.one("Slice", [x, ctx.ints([0] * len(axes)), ends, ctx.ints(axes)])]


@TABLE.register("SliceChannel", "split")
def split(ctx, node, inputs):
    a = attrs(node)
    n, axis = a.int("num_outputs"), a.int("axis", 1)
    parts = ctx.split(inputs[0], axis, parts=n)
    if a.bool("squeeze_axis", False):
        parts = [ctx.squeeze(p, [axis]) for p in parts]
    return parts


@TABLE.register("tile")
def tile(ctx, node, inputs):
    reps = attrs(node).ints("reps")
    x, rank = inputs[0], ctx.rank_of(inputs[0])
    if len(reps) > rank:  # MXNet promotes the input with leading 1s
        x = ctx.one("Reshape", [x, ctx.one("Concat", [ctx.ints([1] * (len(reps) - rank)), ctx.one("Shape", [x])],
                                           axis=0)])
    reps = [1] * (rank - len(reps)) + reps
    return [ctx.one("Tile", [x, ctx.ints(reps)])]


REDUCE = {"sum": "ReduceSum", "sum_axis": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax",
          "max_axis": "ReduceMax", "min": "ReduceMin", "min_axis": "ReduceMin", "prod": "ReduceProd",
          "nansum": "ReduceSum", "norm": "ReduceL2"}


@TABLE.register(*REDUCE)
def reduce(ctx, node, inputs):
    a = attrs(node)
    axes, keepdims = a.ints("axis"), int(a.bool("keepdims", False))
    if node.op == "norm" and a.int("ord", 2) == 1:
        op = "ReduceL1"
    else:
        op = REDUCE[node.op]
    x = inputs[0]
    if node.op == "nansum":
        x = ctx.one("Where", [ctx.one("IsNaN", [x]), ctx.scalar_like(0.0, x), x])
    if axes is not None and a.bool("exclude", False):
        rank = ctx.rank_of(x)
        drop = {ax % rank for ax in axes}
        axes = [i for i in range(rank) if i not in drop]
    if axes == []:
        axes = None
    y = ctx.reduce(op, x, axes, keepdims)
    if axes is None and not keepdims:  # MXNet's legacy semantics: a full reduction has shape (1,)
        y = ctx.one("Reshape", [y, ctx.ints([1])])
    return [y]


@TABLE.register("dot")
def dot(ctx, node, inputs):
    a = attrs(node)
    x, y = inputs[:2]
    if a.bool("transpose_a", False):
        x = ctx.one("Transpose", [x])
    if a.bool("transpose_b", False):
        y = ctx.one("Transpose", [y])
    ry = ctx.rank_of(y)
    if ry <= 2:  # tensordot over x's last axis equals matmul when y is a matrix
        return [ctx.one("MatMul", [x, y])]
    # General N-D: flatten x to (-1, K) and y to (K, -1), multiply, restore the shapes.
    xs, ys = ctx.one("Shape", [x]), ctx.one("Shape", [y])
    last = ctx.slice(xs, [-1], [None])
    x2 = ctx.one("Reshape", [x, ctx.one("Concat", [ctx.ints([-1]), last], axis=0)])
    y2 = ctx.one("Reshape", [y, ctx.one("Concat", [ctx.slice(ys, [0], [1]), ctx.ints([-1])], axis=0)])
    out = ctx.one("Concat", [ctx.slice(xs, [0], [-1]), ctx.slice(ys, [1], [None])], axis=0)
    return [ctx.one("Reshape", [ctx.one("MatMul", [x2, y2]), out])]


@TABLE.register("batch_dot")
def batch_dot(ctx, node, inputs):
    a = attrs(node)
    x, y = inputs[:2]
    if a.bool("transpose_a", False):
        x = ctx.one("Transpose", [x], perm=[0, 2, 1])
    if a.bool("transpose_b", False):
        y = ctx.one("Transpose", [y], perm=[0, 2, 1])
    return [ctx.one("MatMul", [x, y])]


@TABLE.register("take")
def take(ctx, node, inputs):
    a = attrs(node)
    axis, mode = a.int("axis", 0), a.str("mode", "clip")
    data, idx = inputs[:2]
    idx = ctx.one("Cast", [idx], to=7)
    size = ctx.one("Gather", [ctx.one("Shape", [data]), ctx.ints([axis])], axis=0)
    if mode == "clip":
        hi = ctx.one("Sub", [size, ctx.ints([1])])
        idx = ctx.one("Min", [ctx.one("Max", [idx, ctx.ints([0])]), hi])
    elif mode == "wrap":
        idx = ctx.one("Mod", [idx, size])
    return [ctx.one("Gather", [data, idx], axis=axis)]


@TABLE.register("Pad", "pad")
def pad(ctx, node, inputs):
    a = attrs(node)
    mode = a.str("mode", "constant")
    width = a.ints("pad_width")
    begins, ends = width[0::2], width[1::2]
    onnx_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect"}.get(mode)
    if onnx_mode is None:
        raise ctx.unsupported(f"mode={mode}")
    value = a.float("constant_value", 0.0) if mode == "constant" else None
    return [ctx.pad(inputs[0], begins + ends, mode=onnx_mode, value=value)]


@TABLE.register("zeros_like", "ones_like")
def fill_like(ctx, node, inputs):
    value = 0.0 if node.op == "zeros_like" else 1.0
    filled = ctx.one("ConstantOfShape", [ctx.one("Shape", [inputs[0]])],
                     value=numpy_helper.from_array(np.array([value], np.float32)))
    return [ctx.cast_like(filled, inputs[0])]


@TABLE.register("shape_array")
def shape_array(ctx, node, inputs):
    return [ctx.one("Shape", inputs[:1])]
