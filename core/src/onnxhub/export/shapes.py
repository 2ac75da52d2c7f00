"""The ``--input-shape`` option every exporter takes, parsed once."""

from __future__ import annotations

from ..errors import UsageError


def parse_shapes(spec) -> dict[str, list[int]]:
    """``["data=1,3,224,224", ...]`` (the CLI's form) or ``{"data": (1, 3, 224, 224)}`` -> ``{name: [dims]}``.

    ``x`` separates dims too (``data=1x3x224x224``); a malformed item is a ``UsageError``.
    """
    if isinstance(spec, dict):
        out = {k: [int(d) for d in v] for k, v in spec.items()}
        for name, dims in out.items():
            _check_dims(name, dims)
        return out
    out = {}
    for item in spec or []:
        name, sep, dims = str(item).partition("=")
        try:
            out[name] = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
        except ValueError:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224") from None
        if not sep or not name or not out[name]:
            raise UsageError(f"--input-shape {item!r} must look like NAME=1,3,224,224")
        _check_dims(name, out[name])
    return out


MAX_DIM = 2**31 - 1  # beyond any tensor a framework can allocate; larger values are typos or overflow


def _check_dims(name: str, dims: list[int]) -> None:
    bad = [d for d in dims if not 1 <= d <= MAX_DIM]
    if bad:
        raise UsageError(f"--input-shape {name}: dimensions must be between 1 and {MAX_DIM}, got {bad[0]}")
