"""Opset-aware forms of the ONNX ops whose signature changed across opsets.

An exporter says what it means (``g.reduce("ReduceMean", x, [1])``, ``g.clip(x, 0, 6)``)
and gets the form its target opset wants: an attribute before the change, an input
after it. The mixin's host (``GraphBuilder``) provides ``opset``, ``one``/``make``,
``const``/``ints``, ``value``, ``rank_of`` and ``dtype_of``.

=============  ==========================================================================
op             change handled
=============  ==========================================================================
Reduce*        ``axes`` attribute -> input: ReduceSum at 13, every other Reduce* at 18
Squeeze,       ``axes`` attribute -> input at 13
Unsqueeze
Split          ``split`` attribute -> input at 13; ``num_outputs`` attribute at 18
Slice          ``starts``/``ends``/``axes`` attributes -> inputs (plus ``steps``) at 10
Resize         ``scales`` only at 10; ``roi``/``scales``/``sizes`` at 11 (``roi``
               optional from 13); ``axes`` and ``antialias`` at 18
Clip           ``min``/``max`` attributes -> optional inputs at 11
Pad            ``pads``/``value`` attributes -> inputs at 11; ``axes`` input at 18
CastLike       new at 15; before it a ``Cast`` to the dtype known for ``like``
=============  ==========================================================================
"""

from __future__ import annotations

import numpy as np

_INT64_MAX = np.iinfo(np.int64).max


class OpsetForms:
    """Helpers that emit an op in the form of ``self.opset``; each returns output name(s)."""

    # -- dtypes ----------------------------------------------------------------------
    def scalar_like(self, value: float, like: str) -> str:
        """A scalar constant in ``like``'s dtype (``CastLike`` from opset 15, a typed constant before)."""
        if self.opset >= 15:
            return self.one("CastLike", [self.const(np.float32(value), name="scalar"), like])
        return self.const(np.asarray(value, dtype=self.np_dtype_of(like)), name="scalar")

    def cast_like(self, tensor: str, like: str) -> str:
        """``tensor`` cast to ``like``'s dtype (``CastLike`` from opset 15, ``Cast`` to the known dtype before)."""
        if self.opset >= 15:
            return self.one("CastLike", [tensor, like])
        return self.one("Cast", [tensor], to=self.dtype_of(like))

    # -- reductions ------------------------------------------------------------------
    def reduce(self, op_type: str, x: str, axes=None, keepdims: int = 1) -> str:
        """``op_type`` (ReduceSum, ReduceMean, ...) over ``axes`` (None: all of them)."""
        if axes is None:
            return self.one(op_type, [x], keepdims=keepdims)
        if self.opset >= (13 if op_type == "ReduceSum" else 18):
            return self.one(op_type, [x, self.ints(list(axes))], keepdims=keepdims)
        return self.one(op_type, [x], axes=list(axes), keepdims=keepdims)

    # -- axes ------------------------------------------------------------------------
    def squeeze(self, x: str, axes=None) -> str:
        """Drop ``axes`` (None: every axis of size 1)."""
        if axes is None:
            return self.one("Squeeze", [x])
        if self.opset >= 13:
            return self.one("Squeeze", [x, self.ints(list(axes))])
        return self.one("Squeeze", [x], axes=list(axes))

    def unsqueeze(self, x: str, axes) -> str:
        """Insert size-1 ``axes`` (positions in the output)."""
        if self.opset >= 13:
            return self.one("Unsqueeze", [x, self.ints(list(axes))])
        return self.one("Unsqueeze", [x], axes=list(axes))

    def split(self, x: str, axis: int, parts=None, sizes=None) -> list:
        """Split along ``axis`` into ``parts`` equal pieces, or pieces of ``sizes``; the output names."""
        if sizes is not None:
            sizes = [int(s) for s in sizes]
            if self.opset >= 13:
                return self.make("Split", [x, self.ints(sizes)], len(sizes), axis=axis)
            return self.make("Split", [x], len(sizes), axis=axis, split=sizes)
        if self.opset >= 18:
            return self.make("Split", [x], parts, axis=axis, num_outputs=parts)
        return self.make("Split", [x], parts, axis=axis)  # no sizes: equal pieces, one per output

    def slice(self, x: str, starts, ends, axes=None, steps=None) -> str:
        """``x[starts:ends:steps]`` on ``axes`` (default 0..n-1); an end of None runs to the end."""
        ends = [_INT64_MAX if e is None else e for e in ends]
        axes = list(range(len(starts))) if axes is None else list(axes)
        if self.opset >= 10:
            args = [x, self.ints(starts), self.ints(ends), self.ints(axes)]
            if steps is not None and any(s != 1 for s in steps):
                args.append(self.ints(steps))
            return self.one("Slice", args)
        if steps is not None and any(s != 1 for s in steps):
            raise self.unsupported(f"Slice with steps at opset {self.opset} (steps need opset 10)")
        return self.one("Slice", [x], starts=list(starts), ends=list(ends), axes=axes)

    # -- value range and padding ---------------------------------------------------------
    def clip(self, x: str, lo=None, hi=None) -> str:
        """Clamp to ``[lo, hi]``; each bound is a number, a constant tensor's name, or None."""
        if self.opset >= 11:
            bounds = [self._bound(b, x) for b in (lo, hi)]
            while bounds and bounds[-1] == "":
                bounds.pop()
            return self.one("Clip", [x] + bounds)
        attrs = {}
        for key, bound in (("min", lo), ("max", hi)):
            if bound is not None:
                attrs[key] = float(self._number(bound, f"Clip {key}"))
        return self.one("Clip", [x], **attrs)

    def _bound(self, bound, like: str) -> str:
        if bound is None:
            return ""
        return bound if isinstance(bound, str) else self.scalar_like(float(bound), like)

    def pad(self, x: str, pads, mode: str = "constant", value=None, axes=None) -> str:
        """Pad with ``pads`` = all begins then all ends (for ``axes``, default every axis).

        ``value`` (constant mode) is a number or a tensor name; None means 0.
        """
        pads = [int(p) for p in pads]
        if axes is not None and self.opset < 18:  # no axes input yet: spell out every axis
            rank, n = self.rank_of(x), len(axes)
            full = [0] * (2 * rank)
            for i, ax in enumerate(axes):
                full[ax % rank], full[rank + ax % rank] = pads[i], pads[n + i]
            pads, axes = full, None
        if self.opset >= 11:
            fill = "" if value is None or mode != "constant" else self._bound(value, x)
            args = [x, self.ints(pads), fill] + ([self.ints(list(axes))] if axes is not None else [])
            while args[-1] == "":
                args.pop()
            return self.one("Pad", args, mode=mode)
        fill = 0.0 if value is None else float(self._number(value, "Pad value"))
        return self.one("Pad", [x], pads=pads, mode=mode, value=fill if mode == "constant" else None)

    def _number(self, bound, what: str):
        """A bound given as a tensor name must be a known constant before the op took inputs."""
        if not isinstance(bound, str):
            return bound
        known = self.value(bound)
        if known is None or known.size != 1:
            raise self.unsupported(f"{what} from a computed tensor at opset {self.opset}")
        return known.reshape(()).item()

    # -- resampling ------------------------------------------------------------------
    def resize(self, x: str, scales=None, sizes=None, mode: str = "nearest", axes=None, **attrs) -> str:
        """Resize by ``scales`` (floats) or to ``sizes`` (ints), for ``axes`` (default every axis).

        ``attrs`` are Resize attributes of opset 11+ (``coordinate_transformation_mode``,
        ``nearest_mode``, ``cubic_coeff_a``, ...); at opset 10 only the default
        (asymmetric) form exists, so any of them is an error there.
        """
        if (scales is None) == (sizes is None):
            raise ValueError("resize() takes scales or sizes, not both or neither")
        if axes is not None and self.opset < 18:
            scales, sizes = self._full_rank_resize(x, scales, sizes, axes)
            axes = None
        if axes is not None:
            attrs["axes"] = list(axes)
        scale_t = "" if scales is None else self.const(np.asarray(scales, np.float32), name="scales")
        if self.opset < 11:
            if sizes is not None or any(v is not None for v in attrs.values()):
                raise self.unsupported(f"Resize with sizes or {sorted(attrs)} at opset {self.opset} (need 11)")
            return self.one("Resize", [x, scale_t], mode=mode)
        size_t = "" if sizes is None else (sizes if isinstance(sizes, str) else self.ints(sizes))
        roi = ""
        if self.opset < 13:  # roi and scales are required inputs until 13: empty tensors stand in
            roi = self.const(np.zeros(0, np.float32), name="roi")
            scale_t = scale_t or self.const(np.zeros(0, np.float32), name="scales")
        args = [x, roi, scale_t, size_t]
        while args[-1] == "":
            args.pop()
        return self.one("Resize", args, mode=mode, **attrs)

    def _full_rank_resize(self, x, scales, sizes, axes):
        """Scales or sizes for every axis, for opsets before Resize took ``axes``."""
        rank = self.rank_of(x)
        axes = [a % rank for a in axes]
        if scales is not None:
            full = [1.0] * rank
            for ax, s in zip(axes, scales):
                full[ax] = float(s)
            return full, None
        shape = self.one("Shape", [x])
        pieces = [self.ints([sizes[axes.index(i)]]) if i in axes else self.one("Gather", [shape, self.ints([i])], axis=0)
                  for i in range(rank)]
        return None, self.one("Concat", pieces, axis=0)
