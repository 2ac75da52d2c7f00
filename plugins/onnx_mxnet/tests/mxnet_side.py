"""Test recipes that run inside the MXNet 1.9.1 runtime (real MXNet), loaded by path by the worker.

Each builds a network with MXNet itself, writes it with MXNet's own savers, and
returns MXNet's output on a deterministic input: the ground truth the exporter is
checked against. Only the standard library, numpy and mxnet are imported here.
"""

import warnings

import mxnet as mx
import numpy as np

warnings.simplefilter("ignore")


def _randomize_stats(params, rng):
    """Non-trivial BatchNorm statistics, so inference-mode normalization is really exercised."""
    for name, p in params.items():
        if name.endswith(("running_mean", "moving_mean")):
            p.set_data(mx.nd.array(rng.uniform(-0.2, 0.2, p.shape).astype(np.float32)))
        elif name.endswith(("running_var", "moving_var")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))


def zoo(params, arrays):
    """A model-zoo architecture: random init (fixed seed), exported by Gluon, run by MXNet."""
    from mxnet.gluon.model_zoo import vision

    name, prefix, seed, batch = params["name"], params["prefix"], params.get("seed", 0), params.get("batch", 2)
    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    net = vision.get_model(name, pretrained=False)
    net.initialize(mx.init.Xavier(magnitude=2.0))
    size = 299 if name.startswith("inception") else 224
    x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
    net.hybridize()
    net(mx.nd.array(x))  # materializes deferred shapes
    _randomize_stats(net.collect_params(), rng)
    y = net(mx.nd.array(x)).asnumpy()
    net.export(prefix)
    return {"x": x, "y": y}


def _save_symbol(sym, prefix, shapes, inputs, rng, arg_init=None):
    """Bind, randomly initialize, save (symbol + params) and return the executor.

    ``shapes`` may name weights whose shape MXNet cannot infer; ``inputs`` are the data.
    """
    exe = sym.simple_bind(mx.cpu(), grad_req="null", **shapes)
    for name, arr in exe.arg_dict.items():
        if name in inputs:
            continue
        if arg_init and name in arg_init:
            arr[:] = arg_init[name](arr.shape)
        else:
            arr[:] = rng.normal(0, 0.5, arr.shape).astype(np.float32)
    for name, arr in exe.aux_dict.items():
        if name.endswith("var"):
            arr[:] = rng.uniform(0.5, 1.5, arr.shape).astype(np.float32)
        else:
            arr[:] = rng.uniform(-0.2, 0.2, arr.shape).astype(np.float32)
    sym.save(prefix + "-symbol.json")
    saved = {"arg:" + k: v for k, v in exe.arg_dict.items() if k not in inputs}
    saved.update({"aux:" + k: v for k, v in exe.aux_dict.items()})
    mx.nd.save(prefix + "-0000.params", saved)
    return exe


def symbol(params, arrays):
    """A symbol-API network from ``SYMBOLS``, with the attributes its author would write."""
    name, prefix = params["name"], params["prefix"]
    rng = np.random.RandomState(params.get("seed", 0))
    sym, shapes, feeds, arg_init = SYMBOLS[name](rng)
    exe = _save_symbol(sym, prefix, shapes, set(feeds), rng, arg_init)
    outs = exe.forward(is_train=False, **{k: mx.nd.array(v, dtype=v.dtype) for k, v in feeds.items()})
    result = {"input_" + k: v for k, v in feeds.items()}
    result.update({"output%d" % i: o.asnumpy() for i, o in enumerate(outs)})
    return result


def _implicit_defaults(rng):
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=8, name="conv1")
    x = mx.sym.BatchNorm(x, name="bn1")  # fix_gamma=True and eps=1e-3 are implicit
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", name="pool1")  # convention implicit
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc1")  # flatten=True implicit
    x = mx.sym.SoftmaxOutput(x, name="softmax")
    return x, {"data": (2, 3, 17, 17)}, {"data": rng.uniform(-1, 1, (2, 3, 17, 17)).astype(np.float32)}, None


def _conv_family(rng):
    data, seq = mx.sym.var("data"), mx.sym.var("seq")
    a = mx.sym.Convolution(data, kernel=(3, 3), num_filter=6, pad=(1, 1), stride=(2, 2), dilate=(1, 1),
                           num_group=2, name="gconv")
    b = mx.sym.Deconvolution(a, kernel=(4, 4), num_filter=4, stride=(2, 2), pad=(1, 1), name="deconv")
    c = mx.sym.Convolution(seq, kernel=(3,), num_filter=4, pad=(1,), name="conv1d")
    d = mx.sym.Convolution(mx.sym.var("vol"), kernel=(2, 2, 2), num_filter=3, no_bias=True, name="conv3d")
    e = mx.sym.Deconvolution(seq, kernel=(3,), num_filter=2, stride=(2,), adj=(1,), no_bias=False,
                             name="deconv1d")
    outs = [b, mx.sym.LeakyReLU(c, act_type="leaky", slope=0.1, name="lrelu"),
            mx.sym.LeakyReLU(d, act_type="elu", slope=0.5, name="elu"), mx.sym.LeakyReLU(e, act_type="selu", name="selu"),
            mx.sym.LeakyReLU(b, act_type="prelu", name="prelu"), mx.sym.LeakyReLU(a, act_type="gelu", name="gelu"),
            mx.sym.Activation(a, act_type="softrelu"), mx.sym.Activation(a, act_type="softsign"),
            mx.sym.Activation(a, act_type="sigmoid"), mx.sym.Activation(a, act_type="tanh")]
    shapes = {"data": (2, 4, 9, 9), "seq": (2, 3, 8), "vol": (1, 2, 4, 4, 4)}
    feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items()}
    return mx.sym.Group(outs), shapes, feeds, None


def _pooling_family(rng):
    data = mx.sym.var("data")
    outs = [mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full"),
            mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg"),
            mx.sym.Pooling(data, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", count_include_pad=False),
            mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2), pool_type="sum"),
            mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=2),
            mx.sym.Pooling(data, kernel=(1, 1), global_pool=True, pool_type="max"),
            mx.sym.Pooling(data, kernel=(1, 1), global_pool=True, pool_type="avg"),
            mx.sym.Pooling(mx.sym.var("seq"), kernel=(2,), stride=(2,), pool_type="max"),
            mx.sym.LRN(data, nsize=3, alpha=0.001, beta=0.75, knorm=2),
            mx.sym.InstanceNorm(data, eps=1e-3, name="inorm"),
            mx.sym.UpSampling(data, scale=2, sample_type="nearest", num_args=1),
            mx.sym.Pad(data, mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=0.5),
            mx.sym.Pad(data, mode="edge", pad_width=(0, 0, 0, 0, 1, 1, 1, 1)),
            mx.sym.Pad(data, mode="reflect", pad_width=(0, 0, 0, 0, 2, 1, 1, 2))]
    shapes = {"data": (2, 3, 8, 8), "seq": (2, 3, 8)}
    feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items()}
    return mx.sym.Group(outs), shapes, feeds, None


def _dense_family(rng):
    data, seq = mx.sym.var("data"), mx.sym.var("seq")
    outs = [mx.sym.FullyConnected(data, num_hidden=5, name="fc_flat"),
            mx.sym.FullyConnected(seq, num_hidden=6, flatten=False, name="fc_seq"),
            mx.sym.FullyConnected(seq, num_hidden=3, flatten=False, no_bias=True, name="fc_nobias"),
            mx.sym.FullyConnected(data, num_hidden=4, no_bias=True, name="fc_flat_nobias"),
            mx.sym.softmax(seq, axis=1), mx.sym.log_softmax(seq), mx.sym.softmax(seq, temperature=2.0),
            mx.sym.SoftmaxActivation(data, mode="channel"), mx.sym.SoftmaxActivation(mx.sym.flatten(data)),
            mx.sym.Dropout(seq, p=0.5), mx.sym.Flatten(data),
            mx.sym.SoftmaxOutput(seq, multi_output=True, name="so_multi"),
            mx.sym.LayerNorm(seq, axis=-1, eps=1e-5, name="ln")]
    shapes = {"data": (2, 3, 4, 4), "seq": (2, 5, 7)}
    feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items()}
    return mx.sym.Group(outs), shapes, feeds, None


def _arith_family(rng):
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    outs = [a + b, a - b, a * b, a / (mx.sym.abs(b) + 1), mx.sym.broadcast_add(a, c), mx.sym.broadcast_sub(a, c),
            mx.sym.broadcast_mul(a, c), mx.sym.broadcast_div(a, mx.sym.abs(c) + 1), mx.sym.broadcast_maximum(a, c),
            mx.sym.broadcast_minimum(a, c), mx.sym.broadcast_power(mx.sym.abs(a) + 0.5, c),
            a + 2.5, a - 1.5, 3.0 - a, a * 4.0, a / 2.0, 2.0 / (mx.sym.abs(a) + 1), mx.sym.abs(a) ** 1.5,
            mx.sym.maximum(a, 0.1), mx.sym.minimum(a, -0.1), mx.sym.clip(a, -0.3, 0.4),
            mx.sym.broadcast_greater(a, c), mx.sym.broadcast_equal(a, a), a > 0.2, a <= 0.1,
            mx.sym.exp(a), mx.sym.log(mx.sym.abs(a) + 1), mx.sym.sqrt(mx.sym.abs(a)), mx.sym.square(a),
            mx.sym.relu(a), mx.sym.sigmoid(a), mx.sym.tanh(a), mx.sym.negative(a), mx.sym.floor(a * 3),
            mx.sym.add_n(a, b, a), mx.sym.where(a > 0, a, b), mx.sym.erf(a), mx.sym.rsqrt(mx.sym.abs(a) + 1)]
    shapes = {"a": (2, 3, 4), "b": (2, 3, 4), "c": (1, 3, 1)}
    feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items()}
    return mx.sym.Group(outs), shapes, feeds, None


def _shape_family(rng):
    x, y, idx = mx.sym.var("x"), mx.sym.var("y"), mx.sym.var("idx")
    outs = [mx.sym.reshape(x, shape=(0, -1)), mx.sym.reshape(x, shape=(-2,)), mx.sym.reshape(x, shape=(0, -3, 0)),
            mx.sym.reshape(x, shape=(-4, 1, -1, -2)), mx.sym.reshape(x, shape=(2, -1, 4)), mx.sym.reshape(x, shape=(-3, -2)),
            mx.sym.transpose(x), mx.sym.transpose(x, axes=(0, 2, 1, 3)), mx.sym.swapaxes(x, dim1=1, dim2=3),
            mx.sym.slice(x, begin=(0, 1, None, 0), end=(None, 3, None, 4), step=(1, 1, None, 2)),
            mx.sym.slice_axis(x, axis=2, begin=1, end=None), mx.sym.slice_like(x, y, axes=(1,)),
            mx.sym.expand_dims(y, axis=1), mx.sym.squeeze(mx.sym.expand_dims(y, axis=0), axis=0),
            mx.sym.stack(y, y * 2, axis=1), mx.sym.tile(y, reps=(2, 1, 3)), mx.sym.tile(y, reps=(2,)),
            mx.sym.concat(x, x, dim=3), mx.sym.sum(x, axis=(1, 3)), mx.sym.mean(x, axis=1, keepdims=True),
            mx.sym.max(x, axis=2), mx.sym.min(x), mx.sym.prod(y, axis=0), mx.sym.sum(x, axis=1, exclude=True),
            mx.sym.dot(y.reshape((-1, 4)), mx.sym.var("w")), mx.sym.batch_dot(y, y, transpose_b=True),
            mx.sym.take(y, idx, axis=1), mx.sym.take(y, idx, axis=0, mode="clip")]
    outs += list(mx.sym.split(x, num_outputs=2, axis=1))
    outs += list(mx.sym.SliceChannel(x, num_outputs=4, axis=3, squeeze_axis=True))
    shapes = {"x": (2, 4, 3, 4), "y": (2, 3, 4), "idx": (5,), "w": (4, 3)}
    feeds = {k: rng.uniform(-1, 1, s).astype(np.float32) for k, s in shapes.items() if k != "w"}
    feeds["idx"] = np.array([0, 2, 1, 2, 5], np.float32)
    return mx.sym.Group(outs), shapes, feeds, None


def _text_model(rng):
    tokens = mx.sym.var("tokens")
    emb = mx.sym.Embedding(tokens, input_dim=50, output_dim=8, name="emb")
    h = mx.sym.LayerNorm(emb, name="ln")
    q = mx.sym.FullyConnected(h, num_hidden=8, flatten=False, name="q")
    k = mx.sym.FullyConnected(h, num_hidden=8, flatten=False, name="k")
    att = mx.sym.softmax(mx.sym.batch_dot(q, k, transpose_b=True) / np.sqrt(8.0), axis=-1)
    ctxv = mx.sym.batch_dot(att, h)
    out = mx.sym.FullyConnected(mx.sym.mean(ctxv, axis=1), num_hidden=3, name="cls")
    shapes = {"tokens": (2, 6)}
    feeds = {"tokens": rng.randint(0, 50, (2, 6)).astype(np.float32)}
    return out, shapes, feeds, None


SYMBOLS = {"implicit_defaults": _implicit_defaults, "conv_family": _conv_family, "pooling_family": _pooling_family,
           "dense_family": _dense_family, "arith_family": _arith_family, "shape_family": _shape_family,
           "text_model": _text_model}


def gluon_rnn(params, arrays):
    """A Gluon LSTM or GRU sequence model (bi- or unidirectional), exported by Gluon."""
    from mxnet.gluon import nn, rnn

    kind, prefix = params["kind"], params["prefix"]
    mx.random.seed(params.get("seed", 0))
    rng = np.random.RandomState(params.get("seed", 0))
    cls = {"lstm": rnn.LSTM, "gru": rnn.GRU, "rnn_tanh": rnn.RNN}[kind]
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(cls(hidden_size=6, num_layers=params.get("layers", 2), layout="NTC",
                    bidirectional=params.get("bidirectional", False), input_size=5))
        net.add(nn.Dense(3, flatten=False))
    net.initialize(mx.init.Xavier())
    x = rng.uniform(-1, 1, (2, 7, 5)).astype(np.float32)
    net.hybridize()
    y = net(mx.nd.array(x)).asnumpy()
    net.export(prefix)
    return {"x": x, "y": y}


def plain_forward(params, arrays):
    """Load importer output with nothing but MXNet (mx.sym.load + mx.nd.load) and run it."""
    sym = mx.sym.load(params["symbol"])
    saved = mx.nd.load(params["params"])
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    x = arrays["x"]
    args[params["input"]] = mx.nd.array(x)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    y = exe.forward(is_train=False)[0].asnumpy()
    block = mx.gluon.SymbolBlock.imports(params["symbol"], [params["input"]], params["params"])
    y_block = block(mx.nd.array(x)).asnumpy()
    return {"y": y, "y_block": y_block}


def time_symbol(params, arrays):
    """Median wall time of a direct MXNet forward of a symbol + params on ``x`` (bound once)."""
    import time

    sym = mx.sym.load(params["symbol"])
    saved = mx.nd.load(params["params"])
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    args[params["input"]] = mx.nd.array(arrays["x"])
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    times = []
    for i in range(params.get("runs", 5) + 1):
        start = time.perf_counter()
        exe.forward(is_train=False)[0].wait_to_read()
        if i:
            times.append(time.perf_counter() - start)
    times.sort()
    return {"median": times[len(times) // 2]}


def plain_forward_any(params, arrays):
    """``plain_forward`` for importer output that may have no parameters (MXNet loads an empty .params
    file as a list, and ``SymbolBlock.imports`` then takes no parameter file)."""
    sym = mx.sym.load(params["symbol"])
    saved = mx.nd.load(params["params"])
    saved = saved if isinstance(saved, dict) else {}
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    x = arrays["x"]
    args[params["input"]] = mx.nd.array(x)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    y = exe.forward(is_train=False)[0].asnumpy()
    block = mx.gluon.SymbolBlock.imports(params["symbol"], [params["input"]], params["params"] if saved else None)
    y_block = block(mx.nd.array(x)).asnumpy()
    return {"y": y, "y_block": y_block}
