"""Kernels the reference backend uses instead of ``onnx.reference``'s own.

``onnx.reference.ReferenceEvaluator`` is the spec's executable sketch, not a runtime:
a few of its kernels are wrong for opsets older than the newest, and a few are
missing. Each override below names, in its docstring, the upstream behaviour it
corrects. They are registered per opset in ``OVERRIDES`` (an ``OpTable`` whose
functions are ``OpRun`` classes); ``new_ops(model)`` picks those that cover the
model's opset and hands them to ``ReferenceEvaluator(model, new_ops=...)``.

``ReferenceEvaluator`` keys ``new_ops`` by ``(domain, class name)`` only, so the
classes handed over are named exactly like the operator; each carries
``op_schema``, the schema of the opset it was registered for, so attribute
defaults are that opset's (upstream takes them from the newest schema).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference.op_run import OpRun
from onnx.reference.ops.op_loop import Loop as _UpstreamLoop
from onnx.reference.ops.op_scatter_elements import scatter_elements

from ..optable import OpTable

OVERRIDES = OpTable("the reference backend's overrides of onnx.reference")


def _coerce_2d(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    axis = axis + x.ndim if axis < 0 else axis
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(rows, -1), axis


@OVERRIDES.register("BatchNormalization", since=7, until=13)
class BatchNormalization(OpRun):
    """BatchNormalization 7-13: inference unless the node asks for the training outputs.

    Upstream: ``BatchNormalization_9`` computes the batch's own statistics whenever
    ``momentum`` is set, and ``momentum`` is always set (the schema default 0.9 fills
    it in), so every opset 9-13 model runs in training mode; opsets 7-8 fall back to
    ``BatchNormalization_6``, whose ``is_test`` (absent since opset 7) defaults to 0,
    training mode again. The spec (7-13) selects the mode by the number of outputs:
    ``Y`` alone is inference with the running ``mean``/``var`` (what ONNX Runtime and
    every exporter mean); five outputs is training. ``spatial=0`` (7-8) takes
    per-activation statistics of shape ``(C, D1, ..., Dn)``.
    """

    def _run(self, x, scale, bias, mean, var, epsilon=None, momentum=None, spatial=None):
        epsilon = 1e-5 if epsilon is None else epsilon
        momentum = 0.9 if momentum is None else momentum
        per_activation = spatial is not None and spatial == 0

        def shaped(a):
            return a.reshape(a.shape) if per_activation else a.reshape(-1, *([1] * (x.ndim - 2)))

        def normalize(m, v):
            return shaped(scale) * (x - shaped(m)) / np.sqrt(shaped(v) + epsilon) + shaped(bias)

        if len(self.output) <= 1:
            return (normalize(mean, var).astype(x.dtype),)
        axes = (0,) if per_activation else tuple(i for i in range(x.ndim) if i != 1)
        saved_mean, saved_var = x.mean(axis=axes), x.var(axis=axes)
        y = normalize(saved_mean, saved_var)
        running_mean = mean * momentum + saved_mean * (1 - momentum)
        running_var = var * momentum + saved_var * (1 - momentum)
        return tuple(a.astype(x.dtype) for a in (y, running_mean, running_var, saved_mean, saved_var))


@OVERRIDES.register("GlobalMaxPool")
class GlobalMaxPool(OpRun):
    """Max over every spatial axis. Upstream reduces the last two axes whatever the rank, so a
    3-D ``[N, C, L]`` input loses its channel axis (a file-type classifier fails on it)."""

    def _run(self, x):
        return (x.max(axis=tuple(range(2, x.ndim)), keepdims=True),)


@OVERRIDES.register("Scatter", since=9)
class Scatter(OpRun):
    """Scatter 9-10 (deprecated at 11 in favour of ScatterElements, same semantics).

    Upstream has no kernel for it: a model that uses it is refused.
    """

    def _run(self, data, indices, updates, axis=None):
        return (scatter_elements(data, indices, updates, axis=0 if axis is None else axis),)


class _Rows2D(OpRun):
    """The pre-13 Softmax family: ``rows(flat)`` over the input coerced to 2-D at ``axis`` (default 1).

    Upstream applies the opset-13 definition to every opset: one axis, default -1, so
    ``[N, C, 1, 1]`` logits (SqueezeNet) come out all ones.
    """

    def _run(self, x, axis=None):
        if x.size == 0:
            return (x,)
        flat, _ = _coerce_2d(x, 1 if axis is None else axis)
        return (self.rows(flat).reshape(x.shape).astype(x.dtype),)


@OVERRIDES.register("Softmax", until=12)
class Softmax(_Rows2D):
    """Softmax 1-12 over the input coerced to 2-D (see ``_Rows2D``)."""

    @staticmethod
    def rows(flat):
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@OVERRIDES.register("LogSoftmax", until=12)
class LogSoftmax(_Rows2D):
    """LogSoftmax 1-12 over the input coerced to 2-D (see ``_Rows2D``)."""

    @staticmethod
    def rows(flat):
        shifted = flat - flat.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@OVERRIDES.register("Hardmax", until=12)
class Hardmax(_Rows2D):
    """Hardmax 1-12 over the input coerced to 2-D (see ``_Rows2D``)."""

    @staticmethod
    def rows(flat):
        y = np.zeros_like(flat)
        y[np.arange(flat.shape[0]), np.argmax(flat, axis=1)] = 1
        return y


def _empty_scan_output(graph: onnx.GraphProto, index: int) -> np.ndarray:
    """A zero-length scan output typed like the body's output ``index``."""
    tensor_type = graph.output[index].type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type) if tensor_type.elem_type else np.float32
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in tensor_type.shape.dim]
    return np.empty((0, *dims), dtype=dtype)


def _body(node: onnx.NodeProto) -> onnx.GraphProto:
    return next(a.g for a in node.attribute if a.name == "body")


@OVERRIDES.register("Loop")
class Loop(_UpstreamLoop):
    """Loop: scan outputs stacked along a new first axis, as the spec and ONNX Runtime do.

    Upstream joins them with ``np.vstack``, which turns per-iteration scalars into
    ``[n, 1]`` (every ``Range`` expanded through its function body comes out 2-D)
    and concatenates per-iteration matrices instead of stacking them; a loop that
    runs zero times with scan outputs fails there. Here: ``np.stack``, and a
    zero-trip loop gives empty scan outputs of the body's declared type, and a loop
    without ``cond`` feeds ``True`` to its body (upstream feeds ``None``).
    """

    def _run(self, M, cond, *args, context=None, body=None, attributes=None, bindings=None):  # noqa: ARG002
        body = self.body
        names_in, names_out = body.input_names, body.output_names
        inputs = dict.fromkeys(names_in)
        if context is not None:
            inputs.update(context)
        for name, value in zip(names_in[2:], args):
            inputs[name] = value
        scans = [[] for _ in range(self.K)]
        it = 0
        if cond is None:  # no condition: a for loop; the body still gets one
            cond = np.array(True)
        while bool(np.asarray(cond).reshape(-1)[0]) and (M is None or it < int(M)):
            if names_in[0]:
                inputs[names_in[0]] = np.array(it, dtype=np.int64)
            if names_in[1]:
                inputs[names_in[1]] = cond
            outputs = self._run_body(inputs, attributes=attributes, bindings=bindings)
            for k in range(self.K):
                scans[k].append(outputs[1 + self.N + k])
            cond = outputs[0]
            if cond is None:
                raise RuntimeError(f"Loop: the body's condition {names_out[0]!r} is None")
            for name, value in zip(names_in[2:], outputs[1:1 + self.N]):
                inputs[name] = value
            it += 1
        results = [inputs[name] for name in names_in[2:2 + self.N]]
        graph = _body(self.onnx_node)
        for k, values in enumerate(scans):
            results.append(np.stack(values) if values else _empty_scan_output(graph, 1 + self.N + k))
        return tuple(results)


@OVERRIDES.register("Optional", since=15)
class Optional(OpRun):
    """Optional: the value itself (or ``None``), as every other optional op reads it.

    Upstream returns ``[x]``: a list, which ``OptionalGetElement`` hands on unchanged,
    so an optional tensor comes out as a sequence of one tensor (``test_if_opt``), and
    an empty ``Optional`` is ``[None]``, which ``OptionalHasElement`` calls non-empty.
    """

    def _run(self, x=None, type=None):  # noqa: A002
        return (x,)

    def _check_and_fix_outputs(self, res):
        return res if res[0] is None else super()._check_and_fix_outputs(res)


class _ScanCommon(OpRun):
    def need_context(self) -> bool:
        return True

    def _scan(self, states, scans, in_axes, in_dirs, out_axes, out_dirs, context, bindings):
        body = self.body
        n_state = len(states)
        names_in, names_out = body.input_names, body.output_names
        scans = [np.moveaxis(v, axis, 0)[::-1] if d else np.moveaxis(v, axis, 0)
                 for v, axis, d in zip(scans, in_axes, in_dirs)]
        length = scans[0].shape[0]
        collected = [[] for _ in names_out[n_state:]]
        for t in range(length):
            inputs = dict(context or {})
            inputs.update(zip(names_in[:n_state], states))
            inputs.update((name, v[t]) for name, v in zip(names_in[n_state:], scans))
            outputs = self._run_body(inputs, bindings=bindings)
            states = list(outputs[:n_state])
            for acc, value in zip(collected, outputs[n_state:]):
                acc.append(value)
        graph = _body(self.onnx_node)
        results = list(states)
        for k, values in enumerate(collected):
            out = np.stack(values) if values else _empty_scan_output(graph, n_state + k)
            if out_dirs[k]:
                out = out[::-1]
            results.append(np.moveaxis(out, 0, out_axes[k]))
        return results


def _per_input(values, count, default=0):
    values = list(values or [])
    return [values[i] if i < len(values) else default for i in range(count)]


@OVERRIDES.register("Scan", since=8, until=8)
class Scan8(_ScanCommon):
    """Scan 8: a batch axis first, an optional ``sequence_lens`` input, per-input ``directions``.

    Upstream implements only the opset-9 form: at opset 8 it takes the empty
    ``sequence_lens`` for a state and fails (``test_scan_sum``).
    """

    def _run(self, sequence_lens, *args, context=None, body=None, num_scan_inputs=None, directions=None,
             attributes=None, bindings=None):  # noqa: ARG002
        n_scan = num_scan_inputs
        n_state = len(args) - n_scan
        batch = args[0].shape[0]
        dirs = _per_input(directions, n_scan)
        per_batch = []
        for b in range(batch):
            limit = None if sequence_lens is None or sequence_lens.size == 0 else int(sequence_lens[b])
            scans = [a[b, :limit] if limit is not None else a[b] for a in args[n_state:]]
            states = [a[b] for a in args[:n_state]]
            n_out = len(self.body.output_names) - n_state
            per_batch.append(self._scan(states, scans, [0] * n_scan, dirs, [0] * n_out, [0] * n_out, context,
                                        bindings))
        return tuple(np.stack([r[i] for r in per_batch]) for i in range(len(per_batch[0])))


@OVERRIDES.register("Scan", since=9)
class Scan(_ScanCommon):
    """Scan 9+: every ``scan_input_axes``/``scan_output_axes``/directions value honoured.

    Upstream raises ``RuntimeError`` for any axis or direction other than 0.
    """

    def _run(self, *args, context=None, body=None, num_scan_inputs=None, scan_input_axes=None,
             scan_input_directions=None, scan_output_axes=None, scan_output_directions=None, attributes=None,
             bindings=None):  # noqa: ARG002
        n_scan = num_scan_inputs
        n_state = len(args) - n_scan
        n_out = len(self.body.output_names) - n_state
        rank_in = [a.ndim for a in args[n_state:]]
        in_axes = [ax + r if ax < 0 else ax for ax, r in zip(_per_input(scan_input_axes, n_scan), rank_in)]
        out_axes = _per_input(scan_output_axes, n_out)
        results = self._scan(list(args[:n_state]), list(args[n_state:]), in_axes,
                             _per_input(scan_input_directions, n_scan), [0] * n_out,
                             _per_input(scan_output_directions, n_out), context, bindings)
        for k in range(n_out):  # negative output axes count in the stacked output's rank
            if out_axes[k] < 0:
                out = results[n_state + k]
                results[n_state + k] = np.moveaxis(out, 0, out_axes[k] + out.ndim)
            elif out_axes[k]:
                results[n_state + k] = np.moveaxis(results[n_state + k], 0, out_axes[k])
        return tuple(results)


def _named(entry, opset: int) -> type[OpRun]:
    """``entry.fn`` under the operator's own name, with the schema of ``opset``."""
    schema = onnx.defs.get_schema(entry.op, opset, entry.domain)
    return type(entry.op, (entry.fn,), {"op_domain": entry.domain, "op_schema": schema,
                                        "__doc__": entry.fn.__doc__})


def new_ops(model: onnx.ModelProto) -> list[type[OpRun]]:
    """The overrides that cover ``model``'s opsets, ready for ``ReferenceEvaluator(new_ops=...)``."""
    opsets = {("" if imp.domain == "ai.onnx" else imp.domain): imp.version for imp in model.opset_import}
    out = []
    for entry in OVERRIDES.entries():
        opset = opsets.get(entry.domain)
        if opset is not None and entry.covers(opset):
            out.append(_named(entry, opset))
    return out


__all__ = ["OVERRIDES", "new_ops"]
