"""Loss functions."""

from mxnet import np, npx

from .common import TABLE


def _nll(logp, target, weight, reduction, ignore_index):
    """ONNX NegativeLogLikelihoodLoss on log-probabilities (N, C, d1...) and targets (N, d1...)."""
    target = target.astype("int64")
    if ignore_index is not None:
        keep = np.not_equal(target, ignore_index)
        safe = np.where(keep, target, np.zeros_like(target))
    else:
        keep, safe = None, target
    picked = np.squeeze(np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1), axis=1)
    w = np.take(weight, safe) if weight is not None else np.ones(picked.shape, dtype=logp.dtype)
    if keep is not None:
        w = w * keep.astype(logp.dtype)
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.sum(loss) / np.sum(w)


@TABLE.register("NegativeLogLikelihoodLoss")
def nll_loss(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    return [_nll(x, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).astype(x.dtype)]


@TABLE.register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy(inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    logp = npx.log_softmax(x, axis=1)
    loss = _nll(logp, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).astype(x.dtype)
    return [loss, logp] if attrs["_outputs"] > 1 else [loss]
