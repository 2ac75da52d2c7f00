"""Small MXNet models written in pure Python (no MXNet): for tests, benchmarks and docs.

``write_model(folder, name, seed=0, depth=4, channels=16, size=16)`` writes
``NAME-symbol.json`` + ``NAME-0000.params`` in the layout MXNet 1.9.1's own savers use
(``mx.sym.load`` and ``mx.nd.load`` read them): a convolutional classifier of ``depth``
Convolution + BatchNorm + ReLU blocks (every other one a residual ``elemwise_add``),
global average pooling, Flatten, FullyConnected and softmax. The input ``data`` carries
its shape (``__shape__``), so exporting needs no ``--input-shape``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .formats.params import save_params


class _Symbol:
    def __init__(self):
        self.nodes: list[dict] = []

    def var(self, name: str, **attrs) -> int:
        self.nodes.append({"op": "null", "name": name, "inputs": [], **({"attrs": attrs} if attrs else {})})
        return len(self.nodes) - 1

    def op(self, op: str, name: str, inputs: list[int], **attrs) -> int:
        self.nodes.append({"op": op, "name": name, "attrs": {k: str(v) for k, v in attrs.items()},
                           "inputs": [[i, 0, 0] for i in inputs]})
        return len(self.nodes) - 1

    def json(self, head: int) -> str:
        args = [i for i, n in enumerate(self.nodes) if n["op"] == "null"]
        return json.dumps({"nodes": self.nodes, "arg_nodes": args, "node_row_ptr": list(range(len(self.nodes) + 1)),
                           "heads": [[head, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}, indent=1)


def write_model(folder, name: str, seed: int = 0, depth: int = 4, channels: int = 16, size: int = 16,
                classes: int = 10) -> list[Path]:
    """Write one model; returns ``[symbol file, params file]``."""
    rng = np.random.default_rng(seed)
    s = _Symbol()
    params: dict[str, np.ndarray] = {}

    def weight(key: str, shape, scale: float = 0.2, aux: bool = False, value=None) -> int:
        arr = (rng.standard_normal(shape) * scale if value is None else np.full(shape, value)).astype(np.float32)
        params[("aux:" if aux else "arg:") + key] = arr
        return s.var(key)

    x = s.var("data", __shape__=str((1, 3, size, size)))
    width = 3
    skip = None
    for i in range(depth):
        conv = f"conv{i}"
        w = weight(f"{conv}_weight", (channels, width, 3, 3), scale=(2.0 / (9 * width)) ** 0.5)
        b = weight(f"{conv}_bias", (channels,), scale=0.05)
        x = s.op("Convolution", conv, [x, w, b], kernel="(3, 3)", pad="(1, 1)", num_filter=channels)
        bn = f"bn{i}"
        gamma, beta = weight(f"{bn}_gamma", (channels,), value=1.0), weight(f"{bn}_beta", (channels,), scale=0.05)
        mean = weight(f"{bn}_moving_mean", (channels,), scale=0.05, aux=True)
        var = s.var(f"{bn}_moving_var")
        params[f"aux:{bn}_moving_var"] = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        x = s.op("BatchNorm", bn, [x, gamma, beta, mean, var], fix_gamma="False", eps=1e-5)
        if skip is not None and i % 2 == 0:
            x = s.op("elemwise_add", f"add{i}", [x, skip])
        x = s.op("Activation", f"relu{i}", [x], act_type="relu")
        if i % 2 == 0:
            skip = x
        width = channels
    x = s.op("Pooling", "pool", [x], kernel="(1, 1)", global_pool="True", pool_type="avg")
    x = s.op("Flatten", "flatten", [x])
    w = weight("fc_weight", (classes, channels), scale=(1.0 / channels) ** 0.5)
    b = weight("fc_bias", (classes,), scale=0.05)
    x = s.op("FullyConnected", "fc", [x, w, b], num_hidden=classes)
    x = s.op("softmax", "prob", [x])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    symbol, weights = folder / f"{name}-symbol.json", folder / f"{name}-0000.params"
    symbol.write_text(s.json(x))
    save_params(weights, params)
    return [symbol, weights]


def write_inventory(folder, count: int, **kwargs) -> list[str]:
    """``count`` models ``model00``, ``model01``... of varied depth in ``folder``; returns their names."""
    names = []
    for i in range(count):
        names.append(f"model{i:02d}")
        write_model(folder, names[-1], seed=i, **{"depth": 2 + i % 5, **kwargs})
    return names
