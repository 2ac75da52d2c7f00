"""Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss composed of Caffe2 ops (Caffe2's own
SoftmaxWithLoss has neither ONNX's class axis nor its reductions)."""

import numpy as np

from .common import TABLE, c1, cast
from .elementwise import binary
from .reduce import reduce


def _picked(scores, target, ignore):
    """scores[n, target[n, d...], d...] by Caffe2 Gather on the flat scores, and the 0/1 weight of
    each target (0 where it is ``ignore_index``; such targets read class 0)."""
    c = scores.shape[1]
    rest = scores.shape[2:]
    t = cast(target, "int64")
    keep = None
    if ignore is not None:
        keep = c1("NE", [t, np.array([ignore], np.int64)]).reshape(t.shape)
        t = c1("Mul", [t, cast(keep, "int64")]).reshape(t.shape)
    inner = int(np.prod(rest)) if rest else 1
    grid = np.indices(t.shape).astype(np.int64)  # offsets of the other axes: shape metadata
    base = grid[0] * (c * inner)
    for i in range(len(rest)):
        base = base + grid[i + 1] * int(np.prod(rest[i + 1:]))
    lin = c1("Add", [c1("Mul", [t, np.array([inner], np.int64)]), base.astype(np.int64)]).reshape(-1)
    flat = scores.reshape(-1)  # a view: layout metadata, no values computed
    picked = c1("Gather", [flat, lin]).reshape(t.shape)
    return picked, t, keep


def nll(scores, target, weight, ignore, reduction):
    picked, t, keep = _picked(scores, target, ignore)
    loss = c1("Negative", [picked]).reshape(picked.shape)
    w = None
    if weight is not None:
        w = c1("Gather", [weight, t.reshape(-1)]).reshape(t.shape)
    if keep is not None:
        k = cast(keep, scores.dtype)
        w = k if w is None else binary("Mul", w, k)
    if w is not None:
        loss = binary("Mul", loss, w)
    if reduction == "none":
        return loss
    total = reduce("ReduceSum", loss, list(range(loss.ndim)), 0)
    if reduction == "sum":
        return total
    if w is None:
        return binary("Div", total, np.array(loss.size, scores.dtype))
    return binary("Div", total, reduce("ReduceSum", w, list(range(w.ndim)), 0))


@TABLE.register("NegativeLogLikelihoodLoss")
def negative_log_likelihood_loss(inputs, attrs):
    weight = inputs[2] if len(inputs) > 2 else None
    return [nll(inputs[0], inputs[1], weight, attrs.get("ignore_index"), attrs.get("reduction", "mean"))]


@TABLE.register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(inputs, attrs):
    """NLL of the log-softmax over axis 1 (the class axis), moved last for the log-softmax."""
    from .nn import _last, _log_softmax

    scores = inputs[0]
    weight = inputs[2] if len(inputs) > 2 else None
    logp = _last(scores, 1, _log_softmax) if scores.ndim > 1 else scores
    loss = nll(logp, inputs[1], weight, attrs.get("ignore_index"), attrs.get("reduction", "mean"))
    return [loss, logp] if attrs["_outputs"] > 1 else [loss]
