"""The ``--input-shape`` option every exporter takes, parsed once."""

from __future__ import annotations

from ..errors import UsageError


def parse_shapes(spec) -> dict[str, list[int]]:
    """``["data=1,3,224,224", ...]`` (the CLI's form) or ``{"data": (1, 3, 224, 224)}`` -> ``{name: [dims]}``.

    ``x`` separates dims too (``data=1x3x224x224``); a malformed item is a ``UsageError``.
    """
    if isinstance(spec, dict):
        return {k: [int(d) for d in v] for k, v in spec.items()}
    out = {}
    for item in spec or []:
        name, sep, dims = str(item).partition("=")
        try:
            out[name] = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
        except ValueError:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224") from None
        if not sep or not name or not out[name]:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224")
    return out
