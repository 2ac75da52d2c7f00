"""MXNet attribute strings ("(3, 3)", "True", "None", "1e-05") as Python values."""

from __future__ import annotations

import ast

from onnxhub.errors import InvalidModel


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


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
            return int(float(self.raw[key]))
        except ValueError:
            raise self.error(key, "an integer") from None

    def float(self, key: str, default=None):
        if not self.has(key):
            return default
        try:
            return float(self.raw[key])
        except ValueError:
            raise self.error(key, "a number") from None

    def ints(self, key: str, default=None) -> list[int] | None:
        """``"(3, 3)"``, ``"[3,3]"``, ``"3"`` -> ``[3, 3]`` / ``[3]``; ``"()"`` -> ``[]``."""
        if not self.has(key):
            return default
        value = _literal(self.raw[key])
        if isinstance(value, (int, float)):
            return [int(value)]
        if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) or v is None for v in value):
            return [int(v) if v is not None else None for v in value]
        raise self.error(key, "a tuple of integers")

    def error(self, key: str, what: str) -> InvalidModel:
        return InvalidModel(f"node {self.node.name!r} ({self.node.op}): attribute {key}={self.raw.get(key)!r} "
                            f"is not {what}")
