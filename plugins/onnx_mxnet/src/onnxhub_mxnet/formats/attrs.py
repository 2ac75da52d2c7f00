"""MXNet attribute strings ("(3, 3)", "True", "None", "1e-05") as Python values."""

from __future__ import annotations

import ast
import math

from onnxhub.errors import InvalidModel


def _literal(text: str):
    if len(text) > 10_000:  # no attribute MXNet writes is this long; literal_eval of deep nesting recurses
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _finite(value) -> bool:
    """A number usable as a size or index: finite, and (for ints) within int64."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) < 2**63
    return -2**63 <= value < 2**63


class Attrs:
    """Typed, defaulted access to one node's attributes, with errors that name the node."""

    def __init__(self, node):
        self.node = node
        self.raw = node.attrs

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] not in ("None", "")

    def str(self, key: str, default=None):
        return self.raw.get(key, default) if self.has(key) else default

    def bool(self, key: str, default: bool = False) -> bool:
        if not self.has(key):
            return default
        value = self.raw[key].strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise self.error(key, "a boolean")

    def int(self, key: str, default=None):
        if not self.has(key):
            return default
        try:
            value = int(float(self.raw[key]))
        except (ValueError, OverflowError):  # "x", "nan", "inf"
            raise self.error(key, "an integer") from None
        if not _finite(value):
            raise self.error(key, "an integer within int64")
        return value

    def float(self, key: str, default=None):
        if not self.has(key):
            return default
        try:
            value = float(self.raw[key])
        except ValueError:
            raise self.error(key, "a number") from None
        if not math.isfinite(value):
            raise self.error(key, "a finite number")
        return value

    def ints(self, key: str, default=None) -> list[int] | None:
        """``"(3, 3)"``, ``"[3,3]"``, ``"3"`` -> ``[3, 3]`` / ``[3]``; ``"()"`` -> ``[]``."""
        if not self.has(key):
            return default
        value = _literal(self.raw[key])
        if isinstance(value, (int, float)) and _finite(value):
            return [int(value)]
        if isinstance(value, (tuple, list)) and all((isinstance(v, (int, float)) and _finite(v)) or v is None
                                                    for v in value):
            return [int(v) if v is not None else None for v in value]
        raise self.error(key, "a tuple of integers")

    def error(self, key: str, what: str) -> InvalidModel:
        return InvalidModel(f"node {self.node.name!r} ({self.node.op}): attribute {key}={self.raw.get(key)!r} "
                            f"is not {what}")
