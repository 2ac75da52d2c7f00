"""Shape and data movement: Reshape, Flatten, Transpose, Concat, Split, Squeeze/Unsqueeze, Slice, Gather,
reductions, Pad. Shapes and axes are static here (inferred and folded by ``prepare_model``)."""

from __future__ import annotations

import numpy as np

from onnxhub.import_ import attributes

from . import TABLE


def _static(g, tensor, what="an input"):
    shape = g.shape(tensor)
    if shape is None or any(not isinstance(d, int) for d in shape):
        raise g.unsupported(f"{what} of unknown shape")
    return shape


def reshape(g, node, shape):
    return g.op("Reshape", [g.blob(node.input[0])], [g.out(node), g.fresh(node.output[0] + "_old_shape")],
                shape=list(shape))[0]


@TABLE.register("Reshape")
def reshape_(g, node):
    """Caffe2's Reshape to the inferred output shape (ONNX's 0 and -1 resolved)."""
    return reshape(g, node, _static(g, node.output[0], "an output"))


@TABLE.register("Flatten")
def flatten(g, node):
    return reshape(g, node, _static(g, node.output[0], "an output"))


@TABLE.register("Squeeze")
def squeeze(g, node):
    return reshape(g, node, _static(g, node.output[0], "an output"))


@TABLE.register("Unsqueeze")
def unsqueeze(g, node):
    return reshape(g, node, _static(g, node.output[0], "an output"))


@TABLE.register("Transpose")
def transpose(g, node):
    rank = g.rank(node.input[0])
    perm = attributes(node).get("perm") or list(range(rank))[::-1]
    return g.op("Transpose", [g.blob(node.input[0])], [g.out(node)], axes=list(perm))


@TABLE.register("Concat")
def concat(g, node):
    rank = g.rank(node.input[0])
    axis = int(attributes(node)["axis"]) % rank
    return g.op("Concat", [g.blob(t) for t in node.input if t], [g.out(node), g.fresh(node.output[0] + "_split")],
                axis=axis)[0]


@TABLE.register("Split")
def split(g, node):
    shapes = [_static(g, o, "an output") for o in node.output]
    axis = int(attributes(node).get("axis", 0)) % len(shapes[0])
    return g.op("Split", [g.blob(node.input[0])], list(node.output), axis=axis, split=[s[axis] for s in shapes])


@TABLE.register("Slice")
def slice_(g, node):
    """Unit steps: Caffe2's Slice with every bound resolved to non-negative starts/ends."""
    shape = _static(g, node.input[0])
    starts, ends = g.ints(node.input[1]), g.ints(node.input[2])
    axes = g.input_ints(node, 3) or list(range(len(starts)))
    steps = g.input_ints(node, 4) or [1] * len(starts)
    if any(s != 1 for s in steps):
        raise g.unsupported("steps other than 1")
    c_starts, c_ends = [0] * len(shape), list(shape)
    for s, e, a in zip(starts, ends, axes):
        a %= len(shape)
        taken = range(shape[a])[slice(s, e)]
        if not len(taken):
            raise g.unsupported("an empty slice")
        c_starts[a], c_ends[a] = taken.start, taken.stop
    return g.op("Slice", [g.blob(node.input[0])], [g.out(node)], starts=c_starts, ends=c_ends)


@TABLE.register("Gather")
def gather(g, node):
    rank = g.rank(node.input[0])
    axis = int(attributes(node).get("axis", 0)) % rank
    return g.op("Gather", [g.blob(node.input[0]), g.blob(node.input[1])], [g.out(node)], axis=axis)


def _reduce(op):
    def convert(g, node):
        a = attributes(node)
        rank = g.rank(node.input[0])
        axes = a.get("axes") or g.input_ints(node, 1)
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return g.op("Copy", [g.blob(node.input[0])], [g.out(node)])
            axes = list(range(rank))
        return g.op(op, [g.blob(node.input[0])], [g.out(node)], axes=sorted(x % rank for x in axes),
                    keepdims=int(a.get("keepdims", 1)))
    return convert


for _name in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"):
    TABLE.add(_name, _reduce(_name))


@TABLE.register("Pad")
def pad(g, node):
    """Caffe2's PadImage: 4-D NCHW, spatial pads only, modes constant/reflect/edge."""
    a = attributes(node)
    shape = _static(g, node.input[0])
    pads = g.ints(node.input[1])
    axes = g.input_ints(node, 3)
    if axes is not None or len(shape) != 4 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise g.unsupported("other than spatial pads of a 4-D input")
    value = g.scalar(node.input[2], "a pad value") if g.input(node, 2) else 0.0
    return g.op("PadImage", [g.blob(node.input[0])], [g.out(node)], pad_t=pads[2], pad_l=pads[3], pad_b=pads[6],
                pad_r=pads[7], mode=a.get("mode", "constant"), value=float(value), order="NCHW")


@TABLE.register("Shape")
def shape_(g, node):
    """A static shape is a constant (its Caffe2 fill)."""
    shape = _static(g, node.input[0])
    a = attributes(node)
    dims = shape[a.get("start", 0):a.get("end", len(shape))]
    return g.op("Copy", [g.const(np.array(dims, np.int64), node.output[0] + "_value")], [g.out(node)])


@TABLE.register("ReduceLogSumExp")
def reduce_log_sum_exp(g, node):
    """max + log(sum(exp(x - max))) over the axes (Caffe2 has no LogSumExp), stable for large inputs."""
    a = attributes(node)
    rank = g.rank(node.input[0])
    axes = sorted(x % rank for x in (a.get("axes") or g.input_ints(node, 1) or range(rank)))
    x = g.blob(node.input[0])
    m = g.op("ReduceMax", [x], axes=axes, keepdims=1)[0]
    s = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [x, m])[0]])[0]], axes=axes, keepdims=1)[0]
    if a.get("keepdims", 1):
        return g.op("Add", [g.op("Log", [s])[0], m], [g.out(node)])
    y = g.op("Add", [g.op("Log", [s])[0], m])[0]
    shape = _static(g, node.output[0], "an output")
    return g.op("Reshape", [y], [g.out(node), g.fresh(node.output[0] + "_old_shape")], shape=shape or [1])[0]


@TABLE.register("Resize", since=13)
def resize(g, node):
    """Caffe2's ResizeNearest: 4-D NCHW, nearest with asymmetric coordinates and floor, constant spatial scales."""
    a = attributes(node)
    if (a.get("mode", "nearest") != "nearest" or a.get("coordinate_transformation_mode") != "asymmetric"
            or a.get("nearest_mode", "round_prefer_floor") != "floor" or a.get("axes")):
        raise g.unsupported("other than nearest/asymmetric/floor")
    in_shape, out_shape = _static(g, node.input[0]), _static(g, node.output[0], "an output")
    scales = None
    if g.input(node, 2):
        scales = [float(v) for v in g.constant(node.input[2], "scales").reshape(-1)]
    elif g.input(node, 3):
        scales = [o / i for o, i in zip(out_shape, in_shape)]
    if len(in_shape) != 4 or not scales or scales[:2] != [1.0, 1.0]:
        raise g.unsupported("other than spatial scales of a 4-D input")
    return g.op("ResizeNearest", [g.blob(node.input[0])], [g.out(node)], height_scale=scales[2],
                width_scale=scales[3], order="NCHW")


@TABLE.register("ConstantOfShape")
def constant_of_shape(g, node):
    """A constant shape: Caffe2's ConstantFill in init_net (a large one is never written out value by value)."""
    value = attributes(node).get("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    return g.fill_constant(node.output[0], g.ints(node.input[0], "a shape"), value[0])


@TABLE.register("Constant")
def constant(g, node):
    """A Constant the kit left unfolded (a large one): its value filled in init_net."""
    value = g.consts.get(node.output[0])
    if value is None:
        raise g.unsupported("a value of this form")
    return g.blob(node.output[0])
