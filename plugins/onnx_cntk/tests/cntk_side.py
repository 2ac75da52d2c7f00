"""Test recipes that run inside the CNTK 2.7 runtime (real CNTK, CPython 3.6), loaded by path by the worker.

Each builds a network with ``cntk.layers``, gives every parameter and BatchNorm statistic
seeded random values, saves it with CNTK's own ``Function.save``, loads it back with
``cntk.load_model`` and reports what CNTK sees in the file: the graph (uids, operators,
blocks), every parameter/constant value, and the output at batch 2 on a seeded input.
Only the standard library, numpy and cntk are imported here; valid Python 3.6.
"""

import warnings

import numpy as np

warnings.simplefilter("ignore")

import cntk as C  # noqa: E402  (after the warning filter: CNTK warns on import)
from cntk.layers import (  # noqa: E402
    GRU,
    LSTM,
    AveragePooling,
    BatchNormalization,
    Convolution2D,
    ConvolutionTranspose2D,
    Dense,
    Dropout,
    Embedding,
    Fold,
    For,
    GlobalAveragePooling,
    GlobalMaxPooling,
    LayerNormalization,
    MaxPooling,
    Recurrence,
    RNNStep,
    Sequential,
)


def _mlp():
    x = C.input_variable(6, name="x")
    net = Sequential([Dense(8, activation=C.relu, name="hidden1"), Dense(5, activation=C.sigmoid, name="hidden2"),
                      Dense(3, name="out")])
    return net(x), (6,)


def _cnn():
    x = C.input_variable((2, 8, 8), name="image")
    net = Sequential([Convolution2D((3, 3), 4, pad=True, activation=C.relu, name="conv"),
                      BatchNormalization(map_rank=1, name="bn"), MaxPooling((2, 2), strides=(2, 2), name="pool"),
                      Dense(3, name="out")])
    return net(x), (2, 8, 8)


def _lstm():
    x = C.sequence.input_variable(5, name="tokens")
    net = Sequential([Recurrence(LSTM(4), name="rnn"), C.sequence.last])
    return net(x), (5,)


def _mlp_full():
    x = C.input_variable(10, name="features")
    logits = Sequential([Dense(16, activation=C.tanh), Dropout(0.3), BatchNormalization(),
                         Dense(12, activation=C.relu), LayerNormalization(), Dense(8, activation=C.sigmoid),
                         Dense(4, name="logits")])(x)
    return C.combine([logits, C.softmax(logits), C.log_softmax(logits)]), (10,)


def _cnn_full():
    x = C.input_variable((3, 16, 16), name="image")
    h = Sequential([Convolution2D((3, 3), 8, pad=True, activation=C.relu), BatchNormalization(map_rank=1)])(x)
    h = h + For(range(2), lambda i: Convolution2D((3, 3), 8, pad=True, activation=C.relu))(h)  # residual
    h = MaxPooling((3, 3), strides=2, pad=True)(h)                       # 8x8
    h = AveragePooling((2, 2), strides=2)(h)                             # 4x4
    h = ConvolutionTranspose2D((3, 3), 4, strides=2, pad=True, output_shape=(8, 8), activation=C.relu)(h)
    h = C.pad(h, pattern=[(0, 0), (1, 1), (2, 1)], mode=C.ops.REFLECT_PAD)
    h = Convolution2D((2, 2), 6, strides=2, activation=C.relu)(h)       # 5x5
    h = ConvolutionTranspose2D((2, 2), 5, strides=2)(h)                  # 10x10
    h = C.pad(h, pattern=[(0, 0), (0, 1), (1, 0)], mode=C.ops.CONSTANT_PAD, constant_value=0.25)
    out = Dense(5, name="scores")(GlobalAveragePooling()(h))
    return C.combine([out, GlobalMaxPooling()(h)]), (3, 16, 16)


def _tensor_ops():
    x = C.input_variable((3, 4, 5), name="t")
    a = C.abs(x)
    e = C.exp(C.clip(x, -0.5, 0.5))
    lg = C.log(a + 1)
    sw = C.swapaxes(C.transpose(C.reshape(C.splice(e, lg, axis=1), (6, 4, 5)), (2, 0, 1)), 0, 2)  # (4, 6, 5)
    outs = [C.reduce_sum(sw, axis=1), C.reduce_mean(sw, axis=(0, 2)), C.reduce_max(sw, axis=-1),
            C.reduce_min(sw, axis=0), C.reduce_log_sum_exp(sw, axis=2), C.argmax(sw, axis=1),
            C.softmax(sw, axis=1), C.softmax(C.sqrt(a)), C.log_softmax(C.reciprocal(a + 1), axis=2),
            C.slice(sw, axis=1, begin_index=1, end_index=5), C.splice(a, x, axis=-1), C.negate(x) * e - x / (a + 1)]
    return C.combine(outs), (3, 4, 5)


def _reduce_all():
    """Reductions over ``Axis.all_axes()`` (the batch axis too: scalars) and ``all_static_axes()`` (per sample)."""
    x = C.input_variable((3, 2), name="r")
    everything, static = C.Axis.all_axes(), C.Axis.all_static_axes()
    outs = [C.reduce_sum(x, axis=everything), C.reduce_max(x, axis=everything), C.reduce_mean(x * x, axis=everything),
            C.reduce_sum(x, axis=static), C.reduce_min(x, axis=static)]
    return C.combine(outs), (3, 2)


def _bidirectional():
    x = C.sequence.input_variable(7, name="tokens")
    net = Sequential([Embedding(6), (Recurrence(GRU(3)), Recurrence(GRU(3), go_backwards=True)), C.splice,
                      Fold(LSTM(4)), Dense(2)])
    back = Fold(RNNStep(3), go_backwards=True)(x)
    return C.combine([net(x), back]), (7,)


def _sequence_ops():
    x = C.sequence.input_variable(3, name="s")
    full = Recurrence(RNNStep(2))(x)
    return C.combine([x - C.sequence.past_value(x), C.sequence.future_value(x, initial_state=0.5) * x,
                      C.sequence.first(x), full, C.sequence.last(full)]), (3,)


def _recurrent_variants():
    x = C.sequence.input_variable(5, name="tokens")
    h = Recurrence(LSTM(4, use_peepholes=True, enable_self_stabilization=True))(x)  # stabilizer: softplus
    h = Recurrence(GRU(3))(h)                                                         # stacked
    projected = Fold(LSTM(3, cell_shape=5))(x)                                        # cell wider than output
    return C.combine([C.sequence.last(h), projected, C.softplus(C.sequence.last(h)), C.leaky_relu(h),
                      C.selu(h), C.square(h)]), (5,)


def _bottleneck(x, mid, out, stride):
    conv_bn = lambda n, k, s, act: Sequential([  # noqa: E731
        Convolution2D(k, n, strides=s, pad=True, bias=False), BatchNormalization(map_rank=1)] + ([C.relu] if act else []))
    h = conv_bn(mid, (1, 1), 1, True)(x)
    h = conv_bn(mid, (3, 3), stride, True)(h)
    h = conv_bn(out, (1, 1), 1, False)(h)
    skip = conv_bn(out, (1, 1), stride, False)(x) if stride != 1 or x.shape[0] != out else x
    return C.relu(h + skip)


def _resnet50():
    """ResNet-50 v1 at ImageNet size (25.5 M parameters), built with cntk.layers."""
    x = C.input_variable((3, 224, 224), name="data")
    h = Sequential([Convolution2D((7, 7), 64, strides=2, pad=True, bias=False), BatchNormalization(map_rank=1),
                    C.relu, MaxPooling((3, 3), strides=2, pad=True)])(x)
    for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            h = _bottleneck(h, mid, mid * 4, stride if i == 0 else 1)
    return Dense(1000, name="fc")(GlobalAveragePooling()(h)), (3, 224, 224)


RECIPES = {"mlp": _mlp, "cnn": _cnn, "lstm": _lstm, "mlp_full": _mlp_full, "cnn_full": _cnn_full,
           "tensor_ops": _tensor_ops, "reduce_all": _reduce_all,
           "bidirectional": _bidirectional, "sequence_ops": _sequence_ops,
           "recurrent_variants": _recurrent_variants, "resnet50": _resnet50}


def _randomize(model, rng):
    """Seeded values for every parameter, and non-trivial BatchNorm statistics (constants)."""
    for p in model.parameters:
        # Convolution kernels (out, in, kh, kw) scaled by their fan-in, so deep nets stay finite.
        std = 0.5 if len(p.shape) < 4 else float(np.prod(p.shape[1:])) ** -0.5
        p.value = rng.normal(0, std, p.shape).astype(np.float32)
    for c in model.constants:
        if c.name == "aggregate_variance":
            c.value = rng.uniform(0.5, 1.5, c.shape).astype(np.float32)
        elif c.name == "aggregate_mean":
            c.value = rng.uniform(-0.2, 0.2, c.shape).astype(np.float32)
        elif c.name == "aggregate_count":
            c.value = np.full(c.shape, 100.0, np.float32)


def _functions(root):
    """Every function reachable from ``root`` without entering block bodies (loops followed once)."""
    seen, order, stack = set(), [], [root]
    while stack:
        f = stack.pop()
        if f.uid in seen:
            continue
        seen.add(f.uid)
        order.append(f)
        for v in f.inputs:
            if v.is_output and v.owner.uid not in seen:
                stack.append(v.owner)
    return order


def _describe(f):
    info = {"uid": f.uid, "op": f.op_name, "name": f.name, "inputs": [v.uid for v in f.inputs],
            "outputs": [v.uid for v in f.outputs], "is_block": bool(f.is_block)}
    if f.is_block:
        info["root"] = f.block_root.uid
        info["arguments"] = {p.uid: a.uid for p, a in f.block_arguments_mapping}
        info["body"] = sorted(g.uid for g in _functions(f.block_root))
    return info


def build(params, arrays):
    """Build recipe ``name``, save it to ``path``; report the loaded model's graph, values and output."""
    rng = np.random.RandomState(params.get("seed", 0))
    model, shape = RECIPES[params["name"]]()
    _randomize(model, rng)
    model.save(params["path"])
    loaded = C.load_model(params["path"])
    (arg,) = loaded.arguments
    batch = params.get("batch", 2)
    if arg.dynamic_axes and len(arg.dynamic_axes) == 2:  # a sequence input: batch of sequences
        x = rng.uniform(-1, 1, (batch, params.get("length", 6)) + shape).astype(np.float32)
    else:
        x = rng.uniform(-1, 1, (batch,) + shape).astype(np.float32)
    y = loaded.eval({arg: x})
    ys = [y[o] for o in loaded.outputs] if isinstance(y, dict) else [y]
    # Sequence outputs come as one array per sequence (equal lengths here): stack them.
    ys = [np.stack(v) if isinstance(v, list) else v for v in ys]
    result = {
        "functions": [_describe(f) for f in _functions(loaded.root_function)],
        "root": loaded.root_function.uid,
        "outputs": [v.uid for v in loaded.outputs],
        "argument": {"uid": arg.uid, "name": arg.name, "shape": list(arg.shape),
                     "dynamic_axes": [a.name for a in arg.dynamic_axes]},
        "variables": {v.uid: {"name": v.name, "shape": list(v.shape), "kind": kind}
                      for kind, group in (("parameter", loaded.parameters), ("constant", loaded.constants))
                      for v in group},
        "x": x,
        "y": np.asarray(ys[0]),
    }
    for i, out in enumerate(ys):
        result["y%d" % i] = np.asarray(out)
    for v in list(loaded.parameters) + list(loaded.constants):
        result["value:" + v.uid] = np.asarray(v.value)
    return result


def plain_eval(params, arrays):
    """Load a ``.model`` with plain ``cntk.load_model`` (no onnxhub code) and evaluate it on ``arrays``.

    Inputs are matched by name; returns every output in the model's order as ``y0``, ``y1``...
    and what CNTK reports of the arguments (name, per-sample shape, dynamic axes).
    """
    model = C.load_model(params["path"])
    feeds = {arg: arrays[arg.name] for arg in model.arguments}
    y = model.eval(feeds)
    ys = [y[o] for o in model.outputs] if isinstance(y, dict) else [y]
    result = {"y%d" % i: np.asarray(v) for i, v in enumerate(ys)}
    result["arguments"] = [{"name": a.name, "shape": list(a.shape), "dynamic_axes": [d.name for d in a.dynamic_axes]}
                           for a in model.arguments]
    return result


def time_eval(params, arrays):
    """Median seconds of ``runs`` plain CNTK evaluations of the ``.model`` at ``path`` on ``x`` (after one warm-up)."""
    import time

    model = C.load_model(params["path"])
    (arg,) = model.arguments
    feeds = {arg: arrays["x"]}
    model.eval(feeds)
    times = []
    for _ in range(params.get("runs", 5)):
        start = time.perf_counter()
        model.eval(feeds)
        times.append(time.perf_counter() - start)
    return {"median": sorted(times)[len(times) // 2]}
