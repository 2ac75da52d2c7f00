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
        try:
            attrs = raw.get("attrs") or raw.get("attr") or raw.get("param") or {}
            inputs = [(int(x[0]), int(x[1])) for x in raw.get("inputs", [])]
            node = Node(i, str(raw["op"]), str(raw["name"]), {str(k): str(v) for k, v in attrs.items()}, inputs)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InvalidModel(f"{path}: node #{i} is malformed ({exc!r})") from exc
        for src, _ in inputs:
            if not 0 <= src < i:
                raise InvalidModel(f"{path}: node {node.name!r} reads node #{src}, which is not before it")
        nodes.append(node)
    try:
        heads = [(int(h[0]), int(h[1])) for h in data["heads"]]
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidModel(f"{path}: malformed 'heads' ({exc!r})") from exc
    if not heads or any(not 0 <= h < count for h, _ in heads):
        raise InvalidModel(f"{path}: 'heads' names no valid node")
    version = None
    attrs = data.get("attrs") or {}
    if isinstance(attrs.get("mxnet_version"), list) and len(attrs["mxnet_version"]) == 2:
        version = int(attrs["mxnet_version"][1])
    return Symbol(nodes, heads, version)
