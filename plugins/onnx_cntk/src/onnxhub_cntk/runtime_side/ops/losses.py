"""Loss ONNX operators composed from CNTK ops: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss."""

import cntk as C
import numpy as np

from .common import TABLE, T, axis, out
from .shape import reshape_to


def _nll(x, target, weight, attrs):
    """``(loss value, per-element weights)``; the class picked by comparing targets with positions
    along axis 1 (CNTK has no per-element gather)."""
    classes = x.shape[1]
    tgt = target.var
    if np.dtype(tgt.dtype) != np.dtype(x.var.dtype):
        tgt = C.cast(tgt, x.var.dtype)
    rank = len(x.var.shape)
    at = axis(x, 1)
    shape = [1] * rank
    shape[at] = classes
    positions = C.constant(np.arange(classes).reshape(shape).astype(x.var.dtype))
    lifted = C.reshape(tgt, tuple(tgt.shape[:at]) + (1,) + tuple(tgt.shape[at:]))
    hot = C.equal(lifted, positions)
    picked = C.reduce_sum(C.element_select(hot, x.var, C.zeros_like(hot)), axis=at)
    w = C.reduce_sum(hot * C.reshape(weight.var, tuple(shape)), axis=at) if weight is not None else \
        C.reduce_sum(hot, axis=at)  # 1 where the target names a class, 0 for an ignored one
    ignore = attrs.get("ignore_index")
    if ignore is not None:
        w = w * C.not_equal(lifted, ignore)
    loss = -picked * w
    reduction = attrs.get("reduction", "mean")
    if reduction == "none":
        return reshape_to(T(loss, x.dtype), target.shape)
    total = C.reduce_sum(loss, axis=C.Axis.all_static_axes())
    if reduction == "mean":
        total = total / C.reduce_sum(w, axis=C.Axis.all_static_axes())
    return reshape_to(T(total, x.dtype), ())


@TABLE.register("NegativeLogLikelihoodLoss")
def nll_loss(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    return [out(_nll(x, target, weight, attrs).var, x.dtype)]


@TABLE.register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    log_prob = T(C.log_softmax(x.var, axis=axis(x, 1)), x.dtype)
    outs = [out(_nll(log_prob, target, weight, attrs).var, x.dtype)]
    if attrs["_outputs"] > 1:
        outs.append(log_prob)
    return outs
