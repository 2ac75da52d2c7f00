"""The MXNet backend's operator table and the helpers several families share.

Runtime-side code: runs inside the MXNet runtime (CPython 3.8-3.11, numpy 1.23; kept
valid CPython 3.6) with MXNet's numpy semantics switched on, so broadcasting, 0-d arrays
and dtypes follow ONNX closely. One small function per ONNX op, registered with the
opset range it handles: ``fn(inputs, attrs) -> list of outputs``; an omitted optional
input is ``None`` (see ``onnxhub.runtime_side.plans`` for what ``attrs`` holds). Shapes
are metadata and may be read; every value is computed by MXNet.
"""

from mxnet import np

from onnxhub.optable import OpTable

TABLE = OpTable("the MXNet backend")


def ints(x):
    """A 1-D int tensor input (shape, axes, pads...) as a Python list: metadata for MXNet's calls."""
    return [int(v) for v in x.asnumpy().reshape(-1)] if x is not None else None


def axes_of(node_axes, x, rank):
    """Axes from the attribute (older opsets) or the input (newer), made non-negative."""
    axes = node_axes if node_axes is not None else (ints(x) if x is not None else None)
    return None if axes is None else tuple(a % rank if rank else a for a in axes)


def pad_constant(x, width, value):
    """np.pad with a constant: MXNet 1.9 ignores ``constant_values`` (pads 0), so fill the border."""
    padded = np.pad(x, width, mode="constant")
    if value == 0:
        return padded
    inside = np.pad(np.ones(x.shape, dtype="bool"), width, mode="constant")
    return np.where(inside, padded, np.full(padded.shape, value, dtype=padded.dtype))
