"""Helpers shared by backends shaped like ``onnx.backend.base``.

``HubBackend`` adds to ONNX's ``Backend`` what every onnxhub backend needs: device
names in either case, inputs as a list or a dict, and one ``prepare`` that checks
what a backend declares it accepts (devices, IR version, opset window, operator
domains, option names) before the backend's own ``prepare_rep`` runs::

    class MyBackend(HubBackend):
        name = "mine"
        devices = ("cpu",)
        max_ir, min_opset, max_opset = 9, 7, 17
        domains = ("", "ai.onnx")
        options = ("threads",)

        @classmethod
        def prepare_rep(cls, model, device, **options):
            return MyRep(model, **options)
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from ..errors import UnsupportedModel, UsageError


def normalize_device(device) -> str:
    """``"CPU"``, ``"cpu"``, ``"cuda:0"`` -> ``"cpu"`` / ``"cuda"``."""
    return str(device or "cpu").split(":")[0].lower()


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    """Inputs a caller must feed: graph inputs that are not initializers."""
    inits = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def _as_array(value):
    # ONNX's test suite feeds numpy scalars for 0-d inputs; runtimes want 0-d arrays.
    return np.asarray(value) if isinstance(value, np.generic) else value


def bind_inputs(names: list[str], inputs) -> dict:
    """Turn a list (graph-input order), a dict, or a single array into ``{name: array}``."""
    if isinstance(inputs, dict):
        unknown = set(inputs) - set(names)
        if unknown:
            raise UsageError(f"unknown input(s) {sorted(unknown)}; the model takes {names}")
        return {k: _as_array(v) for k, v in inputs.items()}
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    if len(inputs) > len(names):
        raise UsageError(f"{len(inputs)} inputs given; the model takes {len(names)}: {names}")
    return {name: _as_array(v) for name, v in zip(names, inputs)}


def model_opset(model: onnx.ModelProto, domain: str = "") -> int | None:
    for imp in model.opset_import:
        if imp.domain in (domain, "ai.onnx" if domain == "" else domain):
            return imp.version
    return None


def check_versions(model: onnx.ModelProto, *, backend: str, max_ir: int | None = None, max_opset: int | None = None,
                   min_opset: int | None = None) -> None:
    """Raise ``UnsupportedModel`` naming both versions when the model is outside the window."""
    if max_ir is not None and model.ir_version > max_ir:
        raise UnsupportedModel(
            f"model IR version {model.ir_version} is newer than backend {backend!r} accepts (max IR {max_ir})"
        )
    opset = model_opset(model)
    if opset is not None and max_opset is not None and opset > max_opset:
        raise UnsupportedModel(
            f"model opset {opset} is newer than backend {backend!r} accepts (max opset {max_opset})"
        )
    if opset is not None and min_opset is not None and opset < min_opset:
        raise UnsupportedModel(
            f"model opset {opset} is older than backend {backend!r} accepts (min opset {min_opset})"
        )


def check_domains(model: onnx.ModelProto, *, backend: str, domains) -> None:
    """Raise ``UnsupportedModel`` for an operator domain outside ``domains`` ("" is ai.onnx).

    Only the domains nodes use count (subgraphs and local functions included): converters
    often import ``ai.onnx.ml`` and never use it.
    """
    accepted = {"" if d == "ai.onnx" else d for d in domains}
    used: dict[str, set] = {}
    for node in _all_nodes(model):
        used.setdefault("" if node.domain == "ai.onnx" else node.domain, set()).add(node.op_type)
    foreign = sorted(d for d in used if d not in accepted)
    if foreign:
        what = ", ".join(f"{d!r} ({', '.join(sorted(used[d]))})" for d in foreign)
        raise UnsupportedModel(f"operator domain {what} has no implementation in backend {backend!r}")


def _all_nodes(model: onnx.ModelProto):
    """Every node of the model: the graph, its subgraphs and the model's local functions."""
    graphs = [model.graph]
    nodes = [n for f in model.functions for n in f.node]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            nodes.append(node)
            for attr in node.attribute:
                graphs.extend([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs))
    return nodes


class HubBackend(Backend):
    """``onnx.backend.base.Backend`` with onnxhub's conventions; subclass per backend.

    ``prepare`` is a template: it normalizes and checks the device, checks the model
    against the class attributes below once, then calls ``prepare_rep(model, device,
    **options)``, the part each backend writes. ``None`` means "not checked here"
    (the backend or its runtime decides).
    """

    name = "?"
    devices: tuple[str, ...] = ("cpu",)
    max_ir: int | None = None  # newest IR version accepted
    min_opset: int | None = None  # the default-domain opset window
    max_opset: int | None = None
    domains: tuple[str, ...] | None = None  # operator domains accepted ("" is ai.onnx)
    options: tuple[str, ...] | None = None  # prepare() option names; None: prepare_rep checks them
    type_check = True  # refuse what ONNX's inference contradicts (modelio.check_types) before prepare_rep

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return normalize_device(device) in cls.devices

    @classmethod
    def offered_devices(cls) -> list[str]:
        """Devices this backend can use here (for messages)."""
        return [d for d in cls.devices if cls.supports_device(d)]

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        device = normalize_device(device)
        if not cls.supports_device(device):
            raise UsageError(f"backend {cls.name!r} offers devices {cls.offered_devices()}, not {device!r}")
        if cls.options is not None:
            unknown = sorted(set(options) - set(cls.options))
            if unknown and not cls.options:
                raise UsageError(f"backend {cls.name!r} takes no options (got {unknown})")
            if unknown:
                raise UsageError(f"unknown option(s) {unknown} for backend {cls.name!r}; known: {', '.join(cls.options)}")
        model = _model_proto(model)
        check_versions(model, backend=cls.name, max_ir=cls.max_ir, max_opset=cls.max_opset, min_opset=cls.min_opset)
        if cls.domains is not None:
            check_domains(model, backend=cls.name, domains=cls.domains)
        if cls.type_check:
            from ..modelio import check_types

            check_types(model, f"backend {cls.name!r}")  # a graph contradicting itself is refused before it runs
        return cls.prepare_rep(model, device, **options)

    @classmethod
    def prepare_rep(cls, model: onnx.ModelProto, device: str, **options) -> BackendRep:
        """The backend's own part of ``prepare``: ``model`` and ``device`` are already checked."""
        raise NotImplementedError(f"backend {cls.name!r} does not implement prepare_rep")

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **options):
        return cls.prepare(model, device, **options).run(inputs)


def _model_proto(model) -> onnx.ModelProto:
    """A ``ModelProto`` from a proto, serialized bytes or a path (what ``onnx.backend`` callers pass).

    Paths and bytes go through ``modelio.load_model``, so external data is read safely.
    """
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray, str, os.PathLike)):
        from ..modelio import load_model

        return load_model(model, check=False)
    raise UsageError(f"prepare() takes an onnx.ModelProto, bytes or a path, not {type(model).__name__}")


def pack_low_bits(array: np.ndarray, bits: int) -> np.ndarray:
    """The 1-D ``uint8`` bytes of a sub-byte ml_dtypes array (int4, uint4, float4...), packed as ONNX
    Runtime and OpenVINO hold them: ``8 // bits`` elements per byte, low bits first. ml_dtypes keeps
    one element per byte, the value in its low ``bits``."""
    per = 8 // bits
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8) & np.uint8((1 << bits) - 1)
    flat = np.concatenate([flat, np.zeros(-flat.size % per, np.uint8)])
    packed = np.zeros(flat.size // per, np.uint8)
    for i in range(per):
        packed |= flat[i::per] << np.uint8(bits * i)
    return packed


__all__ = ["HubBackend", "BackendRep", "bind_inputs", "check_domains", "check_versions", "graph_input_names", "pack_low_bits",
           "model_opset", "normalize_device"]
