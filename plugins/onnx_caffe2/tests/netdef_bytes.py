"""Hand-built Caffe2 NetDefs (no Caffe2 needed), through the plugin's own message classes."""

import numpy as np
from onnxhub_caffe2.formats.proto import messages


def arg(op, name, value):
    a = op.arg.add(name=name)
    if isinstance(value, float):
        a.f = value
    elif isinstance(value, int):
        a.i = value
    elif isinstance(value, str):
        a.s = value.encode()
    elif isinstance(value, (list, tuple, np.ndarray)):
        values = list(np.asarray(value).reshape(-1).tolist())
        if values and isinstance(values[0], float):
            a.floats.extend(values)
        elif values and isinstance(values[0], (bytes, str)):
            a.strings.extend(v.encode() if isinstance(v, str) else v for v in values)
        else:
            a.ints.extend(int(v) for v in values)
    return a


def net(name, ops, external_input=(), external_output=()):
    """``ops``: ``(type, inputs, outputs, {arg: value})`` tuples."""
    n = messages()["NetDef"](name=name)
    for type_, inputs, outputs, args in ops:
        op = n.op.add(type=type_, input=list(inputs), output=list(outputs))
        for k, v in args.items():
            arg(op, k, v)
    n.external_input.extend(external_input)
    n.external_output.extend(external_output)
    return n


def given(name, arr, fill="GivenTensorFill"):
    arr = np.asarray(arr)
    values = arr.reshape(-1).astype(np.float64 if arr.dtype.kind == "f" else np.int64)
    if fill == "GivenTensorFill":
        values = [float(v) for v in values]
    return (fill, [], [name], {"shape": list(arr.shape), "values": values})


W = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5) / 7
B = np.array([0.5, -1.0, 0.25], np.float32)


def mlp(placeholder=False, extra_ops=()):
    """``(predict, init)``: FC(x, W, b) -> Relu in place -> Softmax; ``placeholder``: mobile_exporter style."""
    init_ops = [given("W", W), given("b", B)]
    inputs = ["x", "W", "b"]
    if placeholder:
        init_ops.insert(0, ("GivenTensorFill", [], ["x"], {"shape": [1, 1], "values": [0.0]}))
    predict = net("mlp", [("FC", ["x", "W", "b"], ["h"], {"engine_hint": 1}),
                          ("Relu", ["h"], ["h"], {}), *extra_ops,
                          ("Softmax", ["h"], ["prob"], {})], inputs, ["prob"])
    return predict, net("mlp_init", init_ops)


def reference(x):
    h = np.maximum(x @ W.T + B, 0)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def write(folder, predict, init, text=False):
    from google.protobuf import text_format

    paths = []
    for n, stem in ((predict, "predict_net"), (init, "init_net")):
        path = folder / (stem + (".pbtxt" if text else ".pb"))
        if text:
            path.write_text(text_format.MessageToString(n))
        else:
            path.write_bytes(n.SerializeToString())
        paths.append(path)
    return paths
