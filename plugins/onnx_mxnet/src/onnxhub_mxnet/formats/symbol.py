"""Read MXNet symbol JSON (``name-symbol.json``) in pure Python.

Handles the nnvm format of MXNet 0.9+ (``nodes``, ``arg_nodes``, ``heads``, node
attributes under ``attrs``; ``attr`` in 0.9-1.0; ``param`` in the oldest files) and
inputs as ``[node, output, version]`` or ``[node, output]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from onnxhub.errors import InvalidModel


@dataclass
class Node:
    index: int
    op: str  # "null" for variables (inputs and weights)
    name: str
    attrs: dict[str, str]
    inputs: list[tuple[int, int]]  # (node index, output index)
    extra: dict = field(default_factory=dict)  # variable-level attributes such as __shape__


@dataclass
class Symbol:
    nodes: list[Node]
    heads: list[tuple[int, int]]
    mxnet_version: int | None = None

    def output_name(self, index: int, out: int) -> str:
        """The tensor name an ONNX graph uses for output ``out`` of node ``index``."""
        node = self.nodes[index]
        if node.op == "null":
            return node.name
        return f"{node.name}_output" if out == 0 else f"{node.name}_output{out}"


def load_symbol(path) -> Symbol:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidModel(f"{path}: cannot read ({exc})") from exc
    except ValueError as exc:
        raise InvalidModel(f"{path}: not JSON ({exc})") from exc
    except RecursionError:
        raise InvalidModel(f"{path}: JSON nested too deeply to be an MXNet symbol") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or "heads" not in data:
        raise InvalidModel(f"{path}: JSON but not an MXNet symbol (no 'nodes' and 'heads')")
    nodes = []
    count = len(data["nodes"])
    for i, raw in enumerate(data["nodes"]):
        if not isinstance(raw, dict):
            raise InvalidModel(f"{path}: node #{i} is a JSON {type(raw).__name__}, not an object")
        attrs = raw.get("attrs") or raw.get("attr") or raw.get("param") or {}
        if not isinstance(attrs, dict):
            raise InvalidModel(f"{path}: node #{i} has attributes that are a JSON {type(attrs).__name__}, "
                               "not an object")
        raw_inputs = raw.get("inputs", [])
        if not isinstance(raw_inputs, list) or not all(
                isinstance(x, list) and len(x) in (2, 3) and all(_is_int(v) for v in x) for x in raw_inputs):
            raise InvalidModel(f"{path}: node #{i} has malformed 'inputs' (expected [[node, output(, version)], ...])")
        if not isinstance(raw.get("op"), str) or not isinstance(raw.get("name"), str):
            raise InvalidModel(f"{path}: node #{i} is malformed (needs string 'op' and 'name')")
        inputs = [(x[0], x[1]) for x in raw_inputs]
        bad = [k for k, v in attrs.items() if not isinstance(v, (str, int, float, bool)) and v is not None]
        if bad:
            raise InvalidModel(f"{path}: node {raw['name']!r} attribute {bad[0]!r} is a JSON "
                               f"{type(attrs[bad[0]]).__name__}, not a string")
        node = Node(i, raw["op"], raw["name"], {str(k): _text(v) for k, v in attrs.items()}, inputs)
        for src, out in inputs:
            if not 0 <= src < i:
                raise InvalidModel(f"{path}: node {node.name!r} reads node #{src}, which is not before it")
            if not 0 <= out < 1024:
                raise InvalidModel(f"{path}: node {node.name!r} reads output #{out} of node #{src}, which has none such")
        nodes.append(node)
    raw_heads = data["heads"]
    if not isinstance(raw_heads, list) or not all(
            isinstance(h, list) and len(h) in (2, 3) and all(_is_int(v) for v in h) for h in raw_heads):
        raise InvalidModel(f"{path}: malformed 'heads' (expected [[node, output(, version)], ...])")
    heads = [(h[0], h[1]) for h in raw_heads]
    if not heads or any(not 0 <= h < count or not 0 <= out < 1024 for h, out in heads):
        raise InvalidModel(f"{path}: 'heads' names no valid node")
    version = None
    attrs = data.get("attrs") or {}
    if not isinstance(attrs, dict):
        raise InvalidModel(f"{path}: the symbol's 'attrs' is a JSON {type(attrs).__name__}, not an object")
    if isinstance(attrs.get("mxnet_version"), list) and len(attrs["mxnet_version"]) == 2:
        raw_version = attrs["mxnet_version"][1]
        if not _is_int(raw_version) and not (isinstance(raw_version, str) and raw_version.strip().isdigit()):
            raise InvalidModel(f"{path}: 'mxnet_version' is {raw_version!r}, not an integer")
        version = int(raw_version)
    return Symbol(nodes, heads, version)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value) -> str:
    """An attribute value as MXNet writes it: a string (a bare JSON scalar is taken as its text)."""
    return value if isinstance(value, str) else json.dumps(value)
