"""Seeded mutators: bytes (any format), ONNX structure (protobuf API), MXNet symbol JSON structure.

Every function takes a ``random.Random`` and returns new data plus a short description of
what it did (kept with a saved failure so a human can see what broke).
"""

from __future__ import annotations

import copy
import json
import random

# Values that break sizes, indices and types.
HOSTILE_INTS = [0, 1, -1, -2, 2, 3, 7, 255, 2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, -2**63]
HOSTILE_DIMS = [0, 1, 2, 3, 5, 64, -1, -7, 2**31, 2**40, 2**62]
HOSTILE_FLOATS = [float("inf"), float("-inf"), float("nan"), 0.0, -0.0, 1e300, -1e-300, 3.5]
HOSTILE_TEXT = ["inf", "nan", "-inf", "1e999", "-1", "0", "(0, 0)", "()", "(1099511627776,)", "(-1, -1)",
                "abc", "True", "None", "", "(3, 3, 3, 3, 3)", "[[[[1]]]]", "((1,),)", "1.5", "(2**40,)",
                "9" * 40, "(nan, inf)"]


# -- bytes --------------------------------------------------------------------------------
def mutate_bytes(rng: random.Random, data: bytes, hot: int = 64) -> tuple[bytes, str]:
    """Flip, set, insert, delete, duplicate or truncate; ``hot`` leading bytes (headers) are hit more."""
    buf = bytearray(data)
    done = []
    for _ in range(rng.choice([1, 1, 1, 1, 1, 2, 3, 8])):
        if not buf:
            buf += bytes([rng.randrange(256)])
            continue
        kind = rng.choice(["flip", "set", "set", "insert", "delete", "dup", "truncate", "varint", "zero"])
        pos = rng.randrange(min(hot, len(buf))) if rng.random() < 0.4 else rng.randrange(len(buf))
        if kind == "flip":
            buf[pos] ^= 1 << rng.randrange(8)
        elif kind == "set":
            buf[pos] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif kind == "insert":
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif kind == "delete":
            del buf[pos:pos + rng.randrange(1, 9)]
        elif kind == "dup":
            n = rng.randrange(1, 33)
            buf[pos:pos] = buf[pos:pos + n]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "varint":  # a protobuf varint that never ends, or a huge length
            buf[pos:pos + 1] = bytes([0xFF] * rng.randrange(1, 11))
        elif kind == "zero":
            buf[pos:pos + 8] = bytes(min(8, len(buf) - pos))
        done.append(f"{kind}@{pos}")
    return bytes(buf), "bytes:" + ",".join(done)


# -- ONNX structure ---------------------------------------------------------------------------
OPS = ["Relu", "Conv", "MaxPool", "AveragePool", "Gemm", "MatMul", "Add", "Reshape", "Transpose", "Concat",
       "Gather", "Slice", "Cast", "Softmax", "Split", "Pad", "Resize", "ConstantOfShape", "Expand", "Tile",
       "ReduceSum", "Flatten", "Squeeze", "Unsqueeze", "TopK", "OneHot", "Range", "Shape", "Size", "Einsum",
       "LSTM", "Loop", "If", "NonZero", "Where", "DepthToSpace", "ConvTranspose", "BatchNormalization",
       "GlobalAveragePool", "CumSum", "ScatterND", "NoSuchOp", ""]
ATTRS = ["axis", "axes", "perm", "kernel_shape", "pads", "strides", "dilations", "group", "to", "keepdims",
         "mode", "value", "k", "blocksize", "split", "epsilon", "alpha", "beta", "transA", "transB"]


def _value_infos(model):
    g = model.graph
    return list(g.input) + list(g.output) + list(g.value_info)


def _mutate_onnx_once(rng, model) -> str:
    from onnx import TensorProto, helper

    g = model.graph
    kind = rng.choice(["dim", "dim", "dim", "rank", "dtype", "dtype", "op", "op", "attr", "attr", "attr", "attr",
                       "attr", "input", "output", "opset", "ir", "init_data", "init_dims", "init_dims",
                       "init_dtype", "drop_node", "dup_node", "graph_io", "external"])
    if kind in ("dim", "rank") and _value_infos(model):
        vi = rng.choice(_value_infos(model))
        shape = vi.type.tensor_type.shape
        if kind == "dim" and shape.dim:
            d = rng.choice(shape.dim)
            if rng.random() < 0.2:
                d.dim_param = rng.choice(["N", "", "x" * 300])
            else:
                d.dim_value = rng.choice(HOSTILE_DIMS)
            return f"dim {vi.name}"
        if rng.random() < 0.5 and shape.dim:
            del shape.dim[-1]
        else:
            for _ in range(rng.choice([1, 1, 2, 40])):
                shape.dim.add().dim_value = rng.choice([1, 2, 3])
        return f"rank {vi.name}"
    if kind == "dtype" and _value_infos(model):
        vi = rng.choice(_value_infos(model))
        vi.type.tensor_type.elem_type = rng.choice(list(range(0, 26)) + [99, -1 & 0x7FFFFFFF])
        return f"dtype {vi.name}={vi.type.tensor_type.elem_type}"
    if kind == "op" and g.node:
        n = rng.choice(g.node)
        n.op_type = rng.choice(OPS)
        return f"op {n.name or n.output[0] if n.output else '?'}={n.op_type}"
    if kind == "attr" and g.node:
        n = rng.choice(g.node)
        if n.attribute and rng.random() < 0.7:
            a = rng.choice(n.attribute)
            what = rng.choice(["ints", "int", "float", "delete", "retype", "string"])
            if what == "delete":
                n.attribute.remove(a)
            elif what == "ints":
                a.type = a.INTS
                a.ClearField("ints")
                a.ints.extend(rng.choice(HOSTILE_INTS) for _ in range(rng.choice([0, 1, 2, 4, 9])))
            elif what == "int":
                a.type, a.i = a.INT, rng.choice(HOSTILE_INTS)
            elif what == "float":
                a.type, a.f = a.FLOAT, rng.choice(HOSTILE_FLOATS)
            elif what == "string":
                a.type, a.s = a.STRING, rng.choice([b"", b"nearest", b"\xff\xfe", b"x" * 1000])
            else:
                a.type = rng.choice(list(a.AttributeType.values()))
            return f"attr {n.op_type}.{a.name} {what}"
        name = rng.choice(ATTRS)
        value = rng.choice([rng.choice(HOSTILE_INTS), [rng.choice(HOSTILE_INTS)] * rng.choice([1, 2, 4]),
                            rng.choice(HOSTILE_FLOATS), "nearest"])
        try:
            n.attribute.append(helper.make_attribute(name, value))
        except Exception:
            return "attr (none)"
        return f"attr {n.op_type}+{name}"
    if kind == "input" and g.node:
        n = rng.choice(g.node)
        what = rng.choice(["drop", "add", "rename", "empty"])
        if what == "drop" and n.input:
            del n.input[rng.randrange(len(n.input))]
        elif what == "add":
            n.input.append(rng.choice([i.name for i in g.initializer] + [i.name for i in g.input] + ["nowhere"]))
        elif what == "rename" and n.input:
            n.input[rng.randrange(len(n.input))] = rng.choice(["nowhere", n.output[0] if n.output else "x"])
        elif what == "empty" and n.input:
            n.input[rng.randrange(len(n.input))] = ""
        return f"input {n.op_type} {what}"
    if kind == "output" and g.node:
        n = rng.choice(g.node)
        if n.output and rng.random() < 0.5:
            n.output[rng.randrange(len(n.output))] = rng.choice(["", "y", "x", "dup"])
        else:
            n.output.append("extra")
        return f"output {n.op_type}"
    if kind == "opset":
        model.opset_import[0].version = rng.choice([1, 6, 7, 9, 11, 12, 13, 15, 18, 21, 22, 30, 99, -1])
        if rng.random() < 0.2:
            model.opset_import.add(domain=rng.choice(["ai.onnx.ml", "com.microsoft", "x"]), version=1)
        return f"opset {model.opset_import[0].version}"
    if kind == "ir":
        model.ir_version = rng.choice([0, 1, 3, 4, 7, 9, 10, 11, 12, 99])
        return f"ir {model.ir_version}"
    if kind.startswith("init") and g.initializer:
        t = rng.choice(g.initializer)
        if kind == "init_data":
            if t.raw_data and rng.random() < 0.6:
                t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data) + 1)] + b"\0" * rng.choice([0, 0, 3])
            else:
                t.ClearField("raw_data")
                t.float_data.extend([1.0] * rng.randrange(0, 5))
        elif kind == "init_dims":
            if t.dims and rng.random() < 0.7:
                t.dims[rng.randrange(len(t.dims))] = rng.choice(HOSTILE_DIMS)
            else:
                t.dims.append(rng.choice([1, 2, 2**40]))
        else:
            t.data_type = rng.choice(list(range(0, 26)) + [99])
        return f"{kind} {t.name}"
    if kind == "drop_node" and g.node:
        del g.node[rng.randrange(len(g.node))]
        return "drop_node"
    if kind == "dup_node" and g.node:
        g.node.insert(rng.randrange(len(g.node) + 1), copy.deepcopy(rng.choice(g.node)))
        return "dup_node"
    if kind == "graph_io":
        if g.output and rng.random() < 0.5:
            del g.output[rng.randrange(len(g.output))]
        else:
            g.input.append(helper.make_tensor_value_info(rng.choice(["x", "extra"]), TensorProto.FLOAT,
                                                         [rng.choice(HOSTILE_DIMS)]))
        return "graph_io"
    if kind == "external" and g.initializer:
        t = rng.choice(g.initializer)
        t.data_location = TensorProto.EXTERNAL
        del t.external_data[:]
        for key, value in rng.choice([[("location", "nope.bin")], [("location", "../../etc/passwd")],
                                      [("location", "w.bin"), ("offset", "x")], [("location", "/dev/zero"),
                                                                                 ("length", str(2**40))]]):
            t.external_data.add(key=key, value=value)
        return f"external {t.name}"
    return f"{kind} (no-op)"


def mutate_onnx(rng: random.Random, model) -> tuple[bytes, str]:
    """A structure mutant (1-3 protobuf edits) or a byte mutant of the serialized model."""
    if rng.random() < 0.35:
        return mutate_bytes(rng, model.SerializeToString())
    m = copy.deepcopy(model)
    what = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        try:
            what.append(_mutate_onnx_once(rng, m))
        except (ValueError, TypeError) as exc:  # protobuf refused the edit (an enum out of range...)
            what.append(f"refused edit ({exc})")
    return m.SerializeToString(), "onnx:" + "; ".join(what)


# -- MXNet symbol JSON ------------------------------------------------------------------------
MX_OPS = ["Convolution", "Pooling", "FullyConnected", "Activation", "BatchNorm", "Flatten", "Reshape",
          "transpose", "Concat", "SliceChannel", "softmax", "SoftmaxOutput", "elemwise_add", "broadcast_add",
          "Deconvolution", "Dropout", "take", "slice_axis", "expand_dims", "null", "NoSuchOp", "RNN", "Embedding",
          "LeakyReLU", "_plus_scalar", "clip", "Pad", "UpSampling", "_copy", "Cast"]
MX_ATTRS = ["kernel", "stride", "pad", "num_filter", "num_group", "num_hidden", "axis", "shape", "act_type",
            "pool_type", "eps", "scalar", "a_min", "a_max", "dim", "num_outputs", "__shape__", "no_bias", "p",
            "scale", "input_dim", "output_dim", "mode", "state_size", "num_layers", "dtype", "pad_width"]
ODD_VALUES = [None, 1, -1, 1.5, "s", [], {}, [1], [[0, 0]], {"a": 1}, True, 2**70]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def mutate_symbol(rng: random.Random, symbol: dict) -> tuple[bytes, str]:
    """A structure mutant of a symbol (as a dict), serialized; a few are text-level (deep nesting, bad UTF-8)."""
    r = rng.random()
    if r < 0.04:
        depth = rng.choice([1000, 10**4, 10**5])
        where = rng.choice(["top", "attr", "inputs"])
        if where == "top":
            return _deep(depth).encode(), f"symbol:deep {depth} top"
        text = json.dumps(symbol)
        key = '"inputs": []' if where == "inputs" else '"attrs": {'
        if key in text:
            text = text.replace(key, ('"inputs": ' + _deep(depth)) if where == "inputs"
                                else '"attrs": {"deep": ' + _deep(depth) + ", ", 1)
        return text.encode(), f"symbol:deep {depth} {where}"
    if r < 0.12:
        return mutate_bytes(rng, json.dumps(symbol).encode(), hot=16)
    s = copy.deepcopy(symbol)
    what = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        try:
            what.append(_mutate_symbol_once(rng, s))
        except (TypeError, IndexError, KeyError, AttributeError) as exc:  # an earlier edit broke the shape it expects
            what.append(f"skipped edit ({type(exc).__name__})")
    return json.dumps(s, allow_nan=True).encode(), "symbol:" + "; ".join(what)


def _mutate_symbol_once(rng, s) -> str:
    nodes = s.get("nodes") if isinstance(s, dict) else None
    if not isinstance(nodes, list) or not nodes:
        return "no nodes"
    i = rng.randrange(len(nodes))
    node = nodes[i]
    kind = rng.choice(["attr_value", "attr_value", "attr_value", "attr_add", "attrs_type", "node_type", "op",
                       "op", "inputs", "inputs", "heads", "version", "drop_node", "name", "top"])
    if not isinstance(node, dict) and kind not in ("heads", "version", "drop_node", "top", "node_type"):
        kind = "heads"
    if kind == "attr_value" and isinstance(node, dict):
        attrs = node.setdefault("attrs", {})
        if isinstance(attrs, dict) and attrs:
            key = rng.choice(sorted(attrs))
            attrs[key] = rng.choice(HOSTILE_TEXT) if rng.random() < 0.85 else rng.choice(ODD_VALUES)
            return f"attr {node.get('name')}.{key}={attrs[key]!r}"[:120]
        kind = "attr_add"
    if kind == "attr_add" and isinstance(node, dict):
        attrs = node.setdefault("attrs", {})
        if isinstance(attrs, dict):
            key = rng.choice(MX_ATTRS)
            attrs[key] = rng.choice(HOSTILE_TEXT)
            return f"attr+ {node.get('name')}.{key}={attrs[key]!r}"[:120]
        return "attr+ (attrs not a dict)"
    if kind == "attrs_type":
        node["attrs"] = rng.choice([[], ["kernel", "(3,3)"], "kernel=(3,3)", 5, None, {"kernel": ["3", "3"]}])
        return f"attrs type {type(node['attrs']).__name__}"
    if kind == "node_type":
        nodes[i] = rng.choice([None, 3, "node", [], [node], True])
        return f"node #{i} -> {type(nodes[i]).__name__}"
    if kind == "op":
        node["op"] = rng.choice(MX_OPS) if rng.random() < 0.9 else rng.choice(ODD_VALUES)
        return f"op #{i}={node['op']!r}"[:80]
    if kind == "inputs":
        inputs = node.get("inputs")
        choice = rng.choice(["drop", "add", "bad_entry", "type", "index", "out"])
        if choice == "type" or not isinstance(inputs, list):
            node["inputs"] = rng.choice(ODD_VALUES)
        elif choice == "drop" and inputs:
            del inputs[rng.randrange(len(inputs))]
        elif choice == "add":
            inputs.append([rng.randrange(max(i, 1)), 0, 0])
        elif choice == "bad_entry" and inputs:
            inputs[rng.randrange(len(inputs))] = rng.choice(ODD_VALUES + [[0], [0, "a"], ["0", "0"], [0, 0, 0, 0]])
        elif choice == "index" and inputs:
            inputs[rng.randrange(len(inputs))][0] = rng.choice(HOSTILE_INTS)
        elif choice == "out" and inputs:
            inputs[rng.randrange(len(inputs))][1] = rng.choice([1, 2, 5, -1, 2**40])
        return f"inputs #{i} {choice}"
    if kind == "heads":
        choice = rng.randrange(4)
        if choice == 0:
            s["heads"] = rng.choice(ODD_VALUES)
        elif choice == 1 and isinstance(s.get("heads"), list) and s["heads"]:
            s["heads"][0] = [rng.choice(HOSTILE_INTS), rng.choice([0, 1, 3, -1]), 0]
        else:
            s["heads"] = [[len(nodes) - 1, rng.choice([0, 1, 7]), 0]]
        return "heads"
    if kind == "version":
        s["attrs"] = rng.choice([{"mxnet_version": ["int", rng.choice(["x", 1.5, None, [], "10901", -1, 2**80])]},
                                 {"mxnet_version": "x"}, [], "attrs", {"mxnet_version": ["int"]}])
        return f"version {s['attrs']!r}"[:80]
    if kind == "drop_node":
        del nodes[i]
        return f"drop node #{i}"
    if kind == "name":
        node["name"] = rng.choice(ODD_VALUES + ["", "x" * 5000, "data"])
        return f"name #{i}"
    if kind == "top":
        key = rng.choice(["nodes", "heads", "arg_nodes", "node_row_ptr"])
        s[key] = rng.choice(ODD_VALUES)
        return f"top {key}"
    return kind


def mutate_params(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Byte mutants of a .params file, half of them aimed at an array's header (magic, ndim, dims, dtype)."""
    import struct

    if rng.random() < 0.5 and len(data) > 40:
        buf = bytearray(data)
        # first array header starts at byte 24: magic u32, stype i32, ndim i32, dims i64...
        field = rng.choice(["count", "ndim", "dim", "dim", "dtype", "magic", "stype"])
        if field == "count":
            struct.pack_into("<Q", buf, 16, rng.choice([0, 2, 1000, 2**40, 2**64 - 1]))
        elif field == "magic":
            struct.pack_into("<I", buf, 24, rng.choice([0xF993FAC8, 0xF993FACA, 3, 33, 0]))
        elif field == "stype":
            struct.pack_into("<i", buf, 28, rng.choice([1, 2, -1, 99]))
        elif field == "ndim":
            struct.pack_into("<i", buf, 32, rng.choice([-1, -2, 0, 5, 33, 2**31 - 1]))
        elif field == "dim":
            ndim = struct.unpack_from("<i", buf, 32)[0]
            k = rng.randrange(max(1, min(ndim, 8)))
            value = rng.choice([2**32 + 1, 2**62, 2**63 - 1, -1, -(2**63), 0, 2**31, 3 * 2**61])
            struct.pack_into("<q", buf, 36 + 8 * k, value)
            if rng.random() < 0.5 and ndim >= 2:  # a pair whose product wraps int64 to a small value
                struct.pack_into("<q", buf, 36, 2**32)
                struct.pack_into("<q", buf, 44, 2**32)
        else:
            ndim = max(0, min(struct.unpack_from("<i", buf, 32)[0], 8))
            off = 36 + 8 * ndim + 8
            if off + 4 <= len(buf):
                struct.pack_into("<i", buf, off, rng.choice([12, 13, -1, 99, 1, 6]))
        return bytes(buf), f"params:{field}"
    return mutate_bytes(rng, data, hot=64)
