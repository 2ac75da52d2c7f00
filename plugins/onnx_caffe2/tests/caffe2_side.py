"""Test recipes that run inside the Caffe2 runtime (torch 1.10.2, CPython 3.9), loaded by path by the worker.

Each recipe builds a net the way Caffe2 users did (``brew`` helpers, ``caffe2.python.models``,
or ``core.Net`` ops with the arguments real files carry), gives every weight and BN statistic
seeded random values, saves ``init_net`` + ``predict_net`` the way users saved them
(``mobile_exporter.Export``, or the model zoo's GivenTensorFill init net plus
``value_info.json``, binary or text), then loads those files into a fresh workspace and runs
them at batch 2: the outputs are the ground truth. Only numpy and caffe2 are imported here.
"""

import json
import os
import warnings

import numpy as np

warnings.simplefilter("ignore")

from caffe2.proto import caffe2_pb2  # noqa: E402
from caffe2.python import brew, core, model_helper, workspace  # noqa: E402
from caffe2.python.predictor import mobile_exporter  # noqa: E402

ENGINE_ARGS = {"use_cudnn": True, "cudnn_exhaustive_search": True, "ws_nbytes_limit": 64 * 1024 * 1024}


def _model(name, **scope):
    return model_helper.ModelHelper(name=name, init_params=True, arg_scope=dict({"order": "NCHW"}, **scope))


def _param(model, name, shape):
    """A weight of a hand-written net: created by param_init_net (randomized later)."""
    model.param_init_net.ConstantFill([], name, shape=list(shape), value=0.0)
    return name


# -- recipes: (model, input blob, input shape without batch, output blobs) --------------------
def _lenet():
    m = _model("lenet")
    h = brew.conv(m, "data", "conv1", 1, 20, 5)
    h = brew.max_pool(m, h, "pool1", kernel=2, stride=2)
    h = brew.conv(m, h, "conv2", 20, 50, 5)
    h = brew.max_pool(m, h, "pool2", kernel=2, stride=2)
    h = brew.fc(m, h, "fc3", 50 * 4 * 4, 100)
    h = brew.relu(m, h, h)  # in place
    h = brew.fc(m, h, "pred", 100, 10)
    return m, "data", (1, 28, 28), [brew.softmax(m, h, "softmax")]


def _alexnet():
    m = _model("alexnet")
    h = brew.conv(m, "data", "conv1", 3, 16, 11, stride=4, pad=2)
    h = brew.relu(m, h, h)
    h = brew.lrn(m, h, "norm1", size=5, alpha=1e-3, beta=0.75, bias=2.0)
    h = brew.max_pool(m, h, "pool1", kernel=3, stride=2)
    h = brew.conv(m, h, "conv2", 16, 32, 5, pad=2, group=2)
    h = brew.relu(m, h, h)
    h = brew.lrn(m, h, "norm2", size=3, alpha=1e-2, beta=0.5)
    h = brew.max_pool(m, h, "pool2", kernel=3, stride=2)
    h = brew.conv(m, h, "conv3", 32, 24, 3, pad=1)
    h = brew.relu(m, h, h)
    h = brew.fc(m, h, "fc6", 24 * 3 * 3, 64)
    h = brew.relu(m, h, h)
    h = brew.dropout(m, h, "drop6", ratio=0.5, is_test=True)
    h = brew.fc(m, h, "fc8", 64, 10)
    return m, "data", (3, 67, 67), [brew.softmax(m, h, "prob")]


def _vgg_bn():
    m = _model("vgg_bn", **ENGINE_ARGS)  # brew nets as trained on GPUs: engine args to ignore
    h, dim = "data", 3
    for i, (width, n) in enumerate([(8, 2), (16, 2), (24, 3)]):
        for j in range(n):
            h = brew.conv(m, h, "conv%d_%d" % (i, j), dim, width, 3, pad=1)
            h = brew.spatial_bn(m, h, "bn%d_%d" % (i, j), width, epsilon=1e-3, is_test=True)
            h = brew.relu(m, h, h)
            dim = width
        h = brew.max_pool(m, h, "pool%d" % i, kernel=2, stride=2)
    h = brew.fc(m, h, "fc1", 24 * 4 * 4, 32)
    h = brew.relu(m, h, h)
    h = brew.dropout(m, h, "drop", ratio=0.5, is_test=True)
    h = brew.fc(m, h, "fc2", 32, 7)
    return m, "data", (3, 32, 32), [brew.softmax(m, h, "prob")]


def _squeezenet():
    m = _model("squeezenet")
    h = brew.conv(m, "data", "conv1", 3, 16, 3, stride=2)
    h = brew.relu(m, h, h)
    h = brew.max_pool(m, h, "pool1", kernel=3, stride=2, legacy_pad=3)  # Caffe's ceil mode

    def fire(h, name, dim, s, e):
        sq = brew.relu(m, brew.conv(m, h, name + "_squeeze", dim, s, 1), name + "_squeeze_relu")
        e1 = brew.relu(m, brew.conv(m, sq, name + "_e1", s, e, 1), name + "_e1_relu")
        e3 = brew.relu(m, brew.conv(m, sq, name + "_e3", s, e, 3, pad=1), name + "_e3_relu")
        return brew.concat(m, [e1, e3], name + "_concat", axis=1)

    h = fire(h, "fire2", 16, 8, 16)
    h = fire(h, "fire3", 32, 8, 16)
    h = brew.max_pool(m, h, "pool3", kernel=3, stride=2, legacy_pad=3)
    h = fire(h, "fire4", 32, 12, 24)
    h = brew.dropout(m, h, "drop", ratio=0.5, is_test=True)
    h = brew.conv(m, h, "conv10", 48, 10, 1)
    h = brew.relu(m, h, h)
    h = brew.average_pool(m, h, "pool10", global_pooling=True)
    h = m.net.Flatten(h, "flat")
    return m, "data", (3, 47, 47), [brew.softmax(m, h, "prob")]


def _mobilenet_v2():
    m = _model("mobilenet_v2")

    def bn_relu6(h, name, dim):
        h = brew.spatial_bn(m, h, name + "_bn", dim, epsilon=1e-5, is_test=True)
        return m.net.Clip(h, name + "_relu6", min=0.0, max=6.0)

    h = bn_relu6(brew.conv(m, "data", "conv0", 3, 8, 3, stride=2, pad=1, no_bias=True), "conv0", 8)
    dim = 8
    for i, (t, c, s) in enumerate([(1, 8, 1), (4, 12, 2), (4, 12, 1), (4, 16, 2)]):
        name, hidden = "block%d" % i, dim * t
        x = h
        if t != 1:
            h = bn_relu6(brew.conv(m, h, name + "_expand", dim, hidden, 1, no_bias=True), name + "_expand", hidden)
        h = bn_relu6(brew.conv(m, h, name + "_dw", hidden, hidden, 3, stride=s, pad=1, group=hidden, no_bias=True),
                     name + "_dw", hidden)
        h = brew.conv(m, h, name + "_project", hidden, c, 1, no_bias=True)
        h = brew.spatial_bn(m, h, name + "_project_bn", c, epsilon=1e-5, is_test=True)
        if s == 1 and c == dim:
            h = brew.sum(m, [h, x], name + "_sum")
        dim = c
    h = bn_relu6(brew.conv(m, h, "conv_last", dim, 32, 1, no_bias=True), "conv_last", 32)
    h = brew.average_pool(m, h, "pool", global_pooling=True)
    h = brew.fc(m, h, "classifier", 32, 10)
    return m, "data", (3, 32, 32), [brew.softmax(m, h, "prob")]


def _resnet50():
    from caffe2.python.models import resnet

    m = _model("resnet50")
    out = resnet.create_resnet50(m, "data", num_input_channels=3, num_labels=1000, is_test=True,
                                 no_bias=1)
    return m, "data", (3, 224, 224), [out]


def _legacy_pooling():
    """Pooling with Caffe's ceil mode (legacy_pad=3), per-side pads, kernel_h/kernel_w, count_include_pad."""
    m = _model("legacy_pooling")
    n = m.net
    a = n.MaxPool("data", "a", kernel=3, stride=2, legacy_pad=3)
    b = n.AveragePool("data", "b", kernel_h=3, kernel_w=2, stride_h=2, stride_w=3, legacy_pad=3)
    c = n.MaxPool("data", "c", kernel=3, stride=2, pad=1, legacy_pad=3)
    d = n.AveragePool("data", "d", kernels=[2, 3], strides=[2, 2], pad_t=1, pad_l=0, pad_b=0, pad_r=1)
    e = n.AveragePool("data", "e", kernel=3, stride=2, pad=1, count_include_pad=1)
    f = n.MaxPool("data", "f", kernel=2, stride=1, pads=[0, 1, 1, 0])
    g = n.MaxPool("data", "g", global_pooling=1)
    return m, "data", (2, 12, 11), [a, b, c, d, e, f, g]


def _legacy_broadcast():
    """Add/Sub/Mul/Div with legacy ``broadcast=1, axis=k``, and the small element-wise ops."""
    m = _model("legacy_broadcast")
    n = m.net
    cb = _param(m, "channel_bias", (4,))
    hw = _param(m, "hw_scale", (5, 6))
    ch = _param(m, "ch_scale", (4, 5))
    slope = _param(m, "prelu_slope", (4,))
    a = n.Add(["data", cb], "a", broadcast=1, axis=1)
    b = n.Mul([a, hw], "b", broadcast=1)  # trailing alignment (axis defaults to the end)
    c = n.Sub([b, ch], "c", broadcast=1, axis=1)
    d = n.Div([c, n.Add(["data", n.Abs("data", "absd")], "positive") if False else
               n.Sigmoid("data", "sig")], "d")
    e = n.Mul([n.Tanh(d, "t"), n.Scale(d, "s", scale=0.5)], "e")
    f = n.PRelu([e, slope], "f")
    g = n.Clip(f, "g", min=-0.5, max=0.7)
    h = n.LeakyRelu(d, "h", alpha=0.2)
    i = n.Elu(c, "i", alpha=0.7)
    j = n.Softplus(c, "j")
    k = n.Sum([g, h, i, j], "k")
    t = n.Transpose(k, "tr", axes=[0, 2, 3, 1])
    r, _ = n.Reshape(t, ["r", "r_old_shape"], shape=[0, -1, 4])
    sm = n.Softmax(r, "sm", axis=2)
    flat = n.Softmax(k, "sm_flat", axis=1)  # Caffe2: softmax over C*H*W
    return m, "data", (4, 5, 6), [sm, flat]


def _channel_ops():
    """ChannelShuffle, AffineChannel, ConvTranspose, Split, Concat with axis, FC with axis, dilated conv."""
    m = _model("channel_ops")
    n = m.net
    h = brew.conv(m, "data", "conv", 4, 8, 3, pad=1, dilation=2, pad_t=2, pad_b=2, pad_l=2, pad_r=2) \
        if False else n.Conv(["data", _param(m, "cw", (8, 4, 3, 3)), _param(m, "cb", (8,))], "conv",
                             kernel=3, pads=[2, 2, 2, 2], dilation=2)
    h = n.ChannelShuffle(h, "shuffle", group=2)
    h = n.AffineChannel([h, _param(m, "ac_scale", (8,)), _param(m, "ac_bias", (8,))], "affine")
    s1, s2 = n.Split(h, ["s1", "s2"], axis=1, split=[3, 5])
    up = n.ConvTranspose([s2, _param(m, "tw", (5, 3, 2, 2)), _param(m, "tb", (3,))], "up", kernel=2, stride=2)
    down = n.MaxPool(up, "down", kernel=2, stride=2)
    cat, _ = n.Concat([s1, down], ["cat", "cat_dims"], axis=1)
    fc = n.FC([cat, _param(m, "fw", (5, 6)), _param(m, "fb", (5,))], "fc", axis=3)
    out = n.Relu(fc, "out")
    return m, "data", (4, 6, 6), [out]


def _detectron_blocks():
    """Detectron-style: AffineChannel (frozen BN), GroupNorm, ResizeNearest (FPN top-down), InstanceNorm."""
    m = _model("detectron_blocks")
    n = m.net
    h = n.Conv(["data", _param(m, "c1_w", (16, 3, 3, 3))], "c1", kernel=3, pad=1, stride=2, no_bias=1)
    h = n.AffineChannel([h, _param(m, "c1_bn_s", (16,)), _param(m, "c1_bn_b", (16,))], "c1_bn")
    h = n.Relu(h, h)
    h = n.Conv([h, _param(m, "c2_w", (16, 16, 3, 3)), _param(m, "c2_b", (16,))], "c2", kernel=3, pad=1, stride=2)
    g, _, _ = n.GroupNorm([h, _param(m, "gn_s", (16,)), _param(m, "gn_b", (16,))], ["gn", "gn_mean", "gn_std"],
                          group=4, epsilon=1e-5)
    g = n.Relu(g, g)
    up = n.ResizeNearest(g, "up", width_scale=2.0, height_scale=2.0)
    lat = n.Conv(["c1", _param(m, "lat_w", (16, 16, 1, 1)), _param(m, "lat_b", (16,))], "lat", kernel=1)
    fpn = n.Sum([up, lat], "fpn")
    inorm, _, _ = n.InstanceNorm([fpn, _param(m, "in_s", (16,)), _param(m, "in_b", (16,))], ["inorm", "in_m", "in_v"],
                                 epsilon=1e-5)
    ex = n.ExpandDims(inorm, "ex", dims=[1])
    sq = n.Squeeze(ex, "sq", dims=[1])
    ln, _, _ = n.LayerNorm([sq], ["ln", "ln_mean", "ln_std"], axis=2, epsilon=1e-4)
    ln, _, _ = n.LayerNorm([ln, _param(m, "ln_g", (64,)), _param(m, "ln_b", (64,))], ["ln2", "ln2_mean", "ln2_std"],
                           axis=2, epsilon=1e-5, elementwise_affine=1)  # gamma/beta flat: H*W values
    pooled = n.MaxPool(ln, "pooled", global_pooling=1)
    fc = n.FC([n.Flatten(pooled, "flat"), _param(m, "fc_w", (6, 16)), _param(m, "fc_b", (6,))], "fc")
    mm = n.MatMul([fc, _param(m, "mm_w", (5, 6))], "mm", trans_b=1)
    return m, "data", (3, 16, 16), [mm, up]


def _misc_ops():
    """The smaller unary and n-ary ops, Cast, FCTransposed, BatchMatMul, layout ops."""
    m = _model("misc_ops")
    n = m.net
    a = n.Abs("data", "abs")
    outs = [n.Exp(n.Scale("data", "half", scale=0.5), "exp"), n.Log(n.Add([a, n.Exp(a, "ea")], "pos"), "log"),
            n.Sqrt(a, "sqrt"), n.Negative("data", "neg"), n.Reciprocal(n.Add([a, n.Exp(a, "ea2")], "pos2"), "recip"),
            n.Sign("data", "sign"), n.Ceil(n.Scale("data", "x3", scale=3.0), "ceil"),
            n.Floor(n.Scale("data", "x3b", scale=3.0), "floor"), n.Max(["data", "half", "neg"], "max3"),
            n.Min(["data", "half"], "min2"), n.Selu("data", "selu"), n.Sqr("data", "sqr"), n.Cos("data", "cos"),
            n.Sin("data", "sin"), n.Erf("data", "erf")]
    total = n.Sum(outs, "total")  # (N, 4, 3, 5)
    dbl = n.Cast(n.Cast(total, "as_double", to=core.DataType.DOUBLE), "as_float", to=core.DataType.FLOAT)
    nhwc = n.NCHW2NHWC(dbl, "nhwc")  # (N, 3, 5, 4)
    back = n.NHWC2NCHW(nhwc, "nchw")
    fct = n.FCTransposed([back, _param(m, "fct_w", (60, 7)), _param(m, "fct_b", (7,))], "fct")  # (N, 7)
    sq = n.ExpandDims(fct, "sq3", dims=[2])  # (N, 7, 1)
    bmm = n.BatchMatMul([sq, _param(m, "bmm_w", (2, 1))], "bmm", trans_b=1, broadcast=1)  # (N, 7, 2) via broadcast
    m.param_init_net.GivenTensorInt64Fill([], "unvec_shape", shape=[2], values=[-1, 14])  # shape as a blob
    copy, _ = n.Reshape([n.Copy(n.FlattenToVec(bmm, "vec"), "vec_copy"), "unvec_shape"], ["unvec", "unvec_old"])
    return m, "data", (4, 3, 5), [fct, copy, bmm]


def _shufflenet():
    from caffe2.python.models import shufflenet

    m = _model("shufflenet")
    logits = shufflenet.create_shufflenet(m, "data", 3, 10, is_test=True, no_loss=True)
    return m, "data", (3, 224, 224), [brew.softmax(m, logits, "softmax")]


def _resnext():
    """ResNeXt-50 8x4d at 64x64 (grouped 3x3 convs in bottlenecks)."""
    from caffe2.python.models import resnet

    m = _model("resnext")
    out = resnet.create_resnext(m, "data", 3, 10, num_layers=50, num_groups=8, num_width_per_group=4, is_test=True,
                                final_avg_kernel=2)
    return m, "data", (3, 64, 64), [out]


def _resnet_cifar():
    from caffe2.python.models import resnet

    m = _model("resnet_cifar")
    return m, "data", (3, 32, 32), [resnet.create_resnet_32x32(m, "data", 3, 1, 10, is_test=True)]


def _googlenet():
    """GoogLeNet-style: LRN, inception modules (4 branches, 3x3 max pool with pad 1), Concat, avg pool, dropout."""
    m = _model("googlenet")
    h = brew.relu(m, brew.conv(m, "data", "conv1", 3, 16, 7, stride=2, pad=3), "conv1_relu")
    h = brew.max_pool(m, h, "pool1", kernel=3, stride=2, legacy_pad=3)
    h = brew.lrn(m, h, "norm1", size=5, alpha=1e-4, beta=0.75)
    dim = 16

    def inception(h, name, dim, c1, c3r, c3, c5r, c5, cp):
        b1 = brew.relu(m, brew.conv(m, h, name + "_1x1", dim, c1, 1), name + "_1x1_relu")
        b3 = brew.relu(m, brew.conv(m, h, name + "_3x3_reduce", dim, c3r, 1), name + "_3x3_reduce_relu")
        b3 = brew.relu(m, brew.conv(m, b3, name + "_3x3", c3r, c3, 3, pad=1), name + "_3x3_relu")
        b5 = brew.relu(m, brew.conv(m, h, name + "_5x5_reduce", dim, c5r, 1), name + "_5x5_reduce_relu")
        b5 = brew.relu(m, brew.conv(m, b5, name + "_5x5", c5r, c5, 5, pad=2), name + "_5x5_relu")
        bp = brew.max_pool(m, h, name + "_pool", kernel=3, stride=1, pad=1)
        bp = brew.relu(m, brew.conv(m, bp, name + "_pool_proj", dim, cp, 1), name + "_pool_proj_relu")
        return brew.concat(m, [b1, b3, b5, bp], name + "_output"), c1 + c3 + c5 + cp

    h, dim = inception(h, "inception_3a", dim, 8, 8, 12, 4, 4, 4)
    h, dim = inception(h, "inception_3b", dim, 12, 8, 16, 4, 8, 8)
    h = brew.max_pool(m, h, "pool3", kernel=3, stride=2, legacy_pad=3)
    h, dim = inception(h, "inception_4a", dim, 16, 8, 16, 4, 8, 8)
    h = brew.average_pool(m, h, "pool5", kernel=5, stride=3)  # 8x8 -> 2x2
    h = brew.dropout(m, h, "pool5_drop", ratio=0.4, is_test=True)
    h = brew.fc(m, h, "loss3_classifier", dim * 4, 10)
    return m, "data", (3, 64, 64), [brew.softmax(m, h, "prob")]


def _conv_padding():
    """Conv with legacy_pad VALID/SAME, per-side pads, kernel_h/kernel_w, dilations, 1-D conv; ConvTranspose adj."""
    m = _model("conv_padding")
    n = m.net
    a = n.Conv(["data", _param(m, "a_w", (4, 3, 3, 3)), _param(m, "a_b", (4,))], "a", kernel=3, stride=2, legacy_pad=2)
    b = n.Conv([a, _param(m, "b_w", (4, 4, 2, 3))], "b", kernel_h=2, kernel_w=3, legacy_pad=1)
    c = n.Conv([b, _param(m, "c_w", (6, 4, 3, 3))], "c", kernel=3, pad_t=2, pad_l=0, pad_b=1, pad_r=1, dilations=[1, 2])
    d = n.ConvTranspose([c, _param(m, "d_w", (6, 2, 3, 3)), _param(m, "d_b", (4,))], "d", kernel=3, stride=2, pad=1,
                        adj=1, group=2)
    return m, "data", (3, 13, 14), [d]


RECIPES = {name: globals()["_" + name] for name in (
    "misc_ops",
    "shufflenet",
    "resnext",
    "resnet_cifar",
    "googlenet",
    "conv_padding",
    "detectron_blocks",
    "lenet",
    "alexnet",
    "vgg_bn",
    "squeezenet",
    "mobilenet_v2",
    "resnet50",
    "legacy_pooling",
    "legacy_broadcast",
    "channel_ops",
)}


# -- weights, saving, running -------------------------------------------------------------
def _randomize(names, rng):
    """Seeded values for every float blob: fan-in scaled weights, non-trivial BN statistics."""
    for name in names:
        blob = workspace.FetchBlob(name)
        if blob.dtype != np.float32:
            continue
        shape = blob.shape
        if name.endswith(("_rm", "_mean")):
            value = rng.uniform(-0.2, 0.2, shape)
        elif name.endswith(("_riv", "_rv", "_var")):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) >= 2:
            value = rng.normal(0, float(np.prod(shape[1:])) ** -0.5, shape)
        elif name.endswith(("_b", "bias")):
            value = rng.normal(0, 0.1, shape)
        else:
            value = rng.uniform(0.5, 1.5, shape)
        workspace.FeedBlob(name, value.astype(np.float32))


def _write(proto, path, text):
    if text:
        from google.protobuf import text_format

        with open(path, "w") as f:
            f.write(text_format.MessageToString(proto))
    else:
        with open(path, "wb") as f:
            f.write(proto.SerializeToString())


def build(params, arrays):
    """Build recipe ``name`` in ``folder``, saved in ``style``; report the files and the outputs at batch 2.

    Styles: ``mobile`` (mobile_exporter.Export: the input has a [1, 1] placeholder fill),
    ``zoo`` (GivenTensorFill init net + value_info.json), ``plain`` (no value_info.json),
    each binary, or text with ``text: true``.
    """
    rng = np.random.RandomState(params.get("seed", 0))
    workspace.ResetWorkspace()
    model, data, shape, outputs = RECIPES[params["name"]]()
    for out in outputs:
        if str(out) not in [str(o) for o in model.net.Proto().external_output]:
            model.net.AddExternalOutput(core.BlobReference(str(out)))
    workspace.RunNetOnce(model.param_init_net)
    weights = [b for b in model.net.Proto().external_input if b != data]
    _randomize(weights, rng)
    style, text = params.get("style", "mobile"), params.get("text", False)
    folder = params["folder"]
    os.makedirs(folder, exist_ok=True)
    ext = ".pbtxt" if text else ".pb"
    if style == "mobile":
        workspace.FeedBlob(data, np.zeros((1,) + shape, np.float32))
        init, predict = mobile_exporter.Export(workspace, model.net, weights)
    else:
        predict = caffe2_pb2.NetDef()
        predict.CopyFrom(model.net.Proto())
        init = caffe2_pb2.NetDef()
        init.name = predict.name + "_init"
        for name in weights:
            mobile_exporter.add_tensor(init, name, workspace.FetchBlob(name))
        if style == "zoo":
            with open(os.path.join(folder, "value_info.json"), "w") as f:
                json.dump({data: [1, [1] + list(shape)]}, f)
    for out in outputs:
        if str(out) not in predict.external_output:
            predict.external_output.append(str(out))
    paths = {"predict": os.path.join(folder, "predict_net" + ext), "init": os.path.join(folder, "init_net" + ext)}
    _write(predict, paths["predict"], text)
    _write(init, paths["init"], text)
    x = rng.uniform(-1, 1, (params.get("batch", 2),) + shape).astype(np.float32)
    outputs = [str(o) for o in outputs]
    ys = run_files(paths["init"], paths["predict"], data, x, outputs)
    result = {"paths": paths, "input": data, "outputs": outputs, "external_output": list(predict.external_output),
              "x": x, "ops": [op.type for op in predict.op]}
    for i, y in enumerate(ys):
        result["y%d" % i] = y
    return result


def _read(path):
    net = caffe2_pb2.NetDef()
    if path.endswith(".pbtxt"):
        from google.protobuf import text_format

        with open(path) as f:
            text_format.Merge(f.read(), net)
    else:
        with open(path, "rb") as f:
            net.ParseFromString(f.read())
    return net


def run_files(init_path, predict_path, data, x, outputs):
    """Run saved nets in a fresh workspace, as a user would."""
    workspace.ResetWorkspace()
    workspace.RunNetOnce(_read(init_path))
    workspace.FeedBlob(data, x)
    workspace.RunNetOnce(_read(predict_path))
    return [np.array(workspace.FetchBlob(o)) for o in outputs]


def run(params, arrays):
    """Run saved nets on ``arrays['x']``: ``{"y0": ...}``."""
    ys = run_files(params["init"], params["predict"], params["input"], arrays["x"], params["outputs"])
    return {"y%d" % i: y for i, y in enumerate(ys)}


# -- nets that Caffe2's own ONNX backend made from ONNX graphs ------------------------------
def _onnx_graphs(rng):
    """ONNX graphs at opset 9 (the newest Caffe2's backend takes), weights listed as inputs as it needs."""
    from onnx import helper

    def w(*shape, scale=None):
        scale = float(np.prod(shape[1:])) ** -0.5 if scale is None else scale
        return rng.normal(0, scale, shape).astype(np.float32)

    cnn = ([helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["bn"], epsilon=1e-5),
            helper.make_node("Relu", ["bn"], ["r"]),
            helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["f"], axis=1),
            helper.make_node("Gemm", ["f", "fw", "fb"], ["g"], transB=1),
            helper.make_node("Softmax", ["g"], ["y"], axis=1)],
           {"w": w(4, 3, 3, 3), "b": w(4, scale=0.1), "s": rng.uniform(0.5, 1.5, 4).astype(np.float32),
            "bb": w(4, scale=0.1), "m": rng.uniform(-0.2, 0.2, 4).astype(np.float32),
            "v": rng.uniform(0.5, 1.5, 4).astype(np.float32), "fw": w(5, 64), "fb": w(5, scale=0.1)},
           (3, 8, 8), ["y"])
    mixed = ([helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2], group=2),
              helper.make_node("Sigmoid", ["c"], ["sg"]),
              helper.make_node("Mul", ["c", "sg"], ["swish"]),
              helper.make_node("AveragePool", ["swish"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                               count_include_pad=1),
              helper.make_node("Add", ["ap", "cb"], ["biased"]),
              helper.make_node("Concat", ["biased", "swish"], ["cat"], axis=1),
              helper.make_node("Transpose", ["cat"], ["t"], perm=[0, 2, 3, 1]),
              helper.make_node("Reshape", ["t", "shape"], ["rs"]),
              helper.make_node("MatMul", ["rs", "mw"], ["mm"]),
              helper.make_node("Tanh", ["mm"], ["y"]),
              helper.make_node("LeakyRelu", ["cat"], ["y2"], alpha=0.1)],
             {"w": w(8, 2, 3, 3), "cb": w(8, 1, 1, scale=0.3), "shape": np.array([0, -1, 16], np.int64),
              "mw": w(16, 6)},
             (4, 9, 9), ["y", "y2"])
    return {"onnx_cnn": cnn, "onnx_mixed": mixed}


def from_onnx(params, arrays):
    """Build ONNX graph ``name``, convert it with ``Caffe2Backend.onnx_graph_to_caffe2_net``, save the nets,
    run them at batch 2. Needs onnx (and onnx.optimizer) in folder ``site``."""
    import sys

    if params.get("site") and params["site"] not in sys.path:
        sys.path.insert(0, params["site"])
    import onnx
    import onnx.optimizer  # noqa: F401  (the backend reads it as an attribute)
    from caffe2.python.onnx.backend import Caffe2Backend
    from onnx import helper, numpy_helper

    rng = np.random.RandomState(params.get("seed", 0))
    nodes, weights, shape, outputs = _onnx_graphs(rng)[params["name"]]
    batch = params.get("batch", 2)
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [batch] + list(shape))]
    inputs += [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
               for k, v in weights.items()]
    graph = helper.make_graph(nodes, params["name"], inputs,
                              [helper.make_empty_tensor_value_info(o) for o in outputs],
                              [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=4)
    init, predict = Caffe2Backend.onnx_graph_to_caffe2_net(model)
    folder = params["folder"]
    os.makedirs(folder, exist_ok=True)
    paths = {"predict": os.path.join(folder, "predict_net.pb"), "init": os.path.join(folder, "init_net.pb")}
    _write(predict, paths["predict"], False)
    _write(init, paths["init"], False)
    x = rng.uniform(-1, 1, (batch,) + shape).astype(np.float32)
    ys = run_files(paths["init"], paths["predict"], "x", x, outputs)
    result = {"paths": paths, "input": "x", "outputs": outputs, "x": x, "ops": [op.type for op in predict.op]}
    for i, y in enumerate(ys):
        result["y%d" % i] = y
    return result


# -- nets onnxhub's importer wrote, run by plain Caffe2 ---------------------------------------
def run_imported(params, arrays):
    """Run ``folder``'s init_net.pb + predict_net.pb as a user would: RunNetOnce(init), feed the ONNX input
    names (``arrays``), RunNetOnce(predict), fetch every external_output. ``{"y0": ..., "outputs": [names]}``."""
    folder = params["folder"]
    workspace.ResetWorkspace()
    workspace.RunNetOnce(_read(os.path.join(folder, "init_net.pb")))
    for name, value in arrays.items():
        workspace.FeedBlob(name, value)
    predict = _read(os.path.join(folder, "predict_net.pb"))
    workspace.RunNetOnce(predict)
    out = {"y%d" % i: np.array(workspace.FetchBlob(name)) for i, name in enumerate(predict.external_output)}
    with open(os.path.join(folder, "value_info.json")) as f:
        info = json.load(f)
    return dict(out, outputs=list(predict.external_output), ops=[op.type for op in predict.op], value_info=info)


def crash(params, arrays):
    """Abort the process as a Caffe2 kernel can (a Cast to the deprecated BYTE type is a fatal CHECK)."""
    workspace.FeedBlob("x", np.zeros(3, np.float32))
    workspace.RunOperatorOnce(core.CreateOperator("Cast", ["x"], ["y"], to=caffe2_pb2.TensorProto.BYTE))
    return {}


def ping(params, arrays):
    return {"pong": True}


def time_nets(params, arrays):
    """Median seconds of ``workspace.RunNet`` of ``folder``'s imported nets (created once) on ``arrays['x']``."""
    import time

    workspace.ResetWorkspace()
    workspace.RunNetOnce(_read(os.path.join(params["folder"], "init_net.pb")))
    workspace.FeedBlob(params["input"], arrays["x"])
    predict = _read(os.path.join(params["folder"], "predict_net.pb"))
    workspace.CreateNet(predict, True)
    workspace.RunNet(predict.name)  # warm-up
    times = []
    for _ in range(params.get("runs", 7)):
        start = time.perf_counter()
        workspace.FeedBlob(params["input"], arrays["x"])
        workspace.RunNet(predict.name)
        workspace.FetchBlob(predict.external_output[0])
        times.append(time.perf_counter() - start)
    workspace.ResetWorkspace()
    return {"median": sorted(times)[len(times) // 2]}
