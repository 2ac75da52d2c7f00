"""The Python API; the command line is a thin layer over these functions."""

from __future__ import annotations

import fnmatch
import importlib
import os
from pathlib import Path

from .errors import InvalidModel, OnnxHubError, PluginError, UsageError
from .registry import get_registry
from .specs import load_target


# -- listings (import nothing heavy) --------------------------------------------
def _rows(kind: str, extra) -> list[dict]:
    reg = get_registry()
    rows = []
    for name, item in sorted(reg.items[kind].items()):
        status, reason = reg.status(kind, name)
        row = {"name": name, "summary": item.spec.summary, "plugin": item.plugin}
        row.update(extra(item.spec))
        row.update({"status": status, "reason": reason})
        rows.append(row)
    return rows


def backends() -> list[dict]:
    """``[{"name", "summary", "plugin", "devices", "runtime", "status", "reason"}]``."""
    return _rows("backend", lambda s: {"devices": list(s.devices), "runtime": s.runtime})


def importers() -> list[dict]:
    return _rows("importer", lambda s: {"runtime": s.runtime})


def exporters() -> list[dict]:
    return _rows("exporter", lambda s: {"patterns": list(s.patterns), "runtime": s.runtime})


def runtimes() -> list[dict]:
    """``[{"name", "plugin", "python", "status", "path", "packages"}]``."""
    from .runtime import list_runtimes

    return list_runtimes()


def plugins() -> list[dict]:
    """``[{"name", "distribution", "version", "hooks", "status", "error"}]``."""
    return [p.as_json() for p in get_registry().plugins.values()]


def _usable(kind: str, name: str):
    reg = get_registry()
    item = reg.get(kind, name)
    status, reason = reg.status(kind, name)
    if status == "runtime-missing":
        from .errors import RuntimeNotInstalled

        raise RuntimeNotInstalled(f"{kind} {name!r} needs runtime {item.spec.runtime!r}: {reason}")
    if status != "ready":
        raise PluginError(f"{kind} {name!r} is not usable: {reason}")
    try:
        return load_target(item.spec.target)
    except Exception as exc:
        raise PluginError(f"{kind} {name!r} (plugin {item.plugin!r}) failed to load {item.spec.target}: {exc}") from exc


# -- backends --------------------------------------------------------------------
def get_backend(name: str):
    """The ``onnx.backend.base.Backend``-compatible class registered as ``name``.

    ``name`` may also be ``"package.module:Attribute"`` (or ``"package.module:"`` for
    a module) naming any ONNX backend outside onnxhub, e.g. ``onnxruntime.backend:``;
    the conformance runner uses this to measure such backends the same way.
    """
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            impl = load_target(name) if attr else importlib.import_module(module)
        except Exception as exc:
            raise PluginError(f"cannot load backend {name!r}: {exc}") from exc
        missing = [m for m in ("prepare", "supports_device") if not callable(getattr(impl, m, None))]
        if missing:
            raise UsageError(f"{name!r} is not an ONNX backend (it has no {' or '.join(missing)}())")
        return impl
    return _usable("backend", name)


def default_backend(device: str = "cpu") -> str:
    """The ready backend with the highest priority that offers ``device``."""
    ready = [r for r in backends() if r["status"] == "ready" and device in r["devices"]]
    if not ready:
        raise PluginError(f"no ready backend offers device {device!r} (see 'onnxhub list-backends')")
    reg = get_registry()
    return max(ready, key=lambda r: reg.items["backend"][r["name"]].spec.priority)["name"]


def backend_for(backend=None, device: str = "cpu"):
    """``(name, backend class)`` for ``backend`` on ``device``, resolved and loaded once.

    ``backend`` is a registered name, ``"module:Attribute"`` (see ``get_backend``), ``None``
    for the default on ``device``, an already-resolved backend class, or the ``(name, class)``
    pair this returned (returned as is, after the device check). Callers that run several steps resolve once and pass the
    class on.
    """
    if backend is None or isinstance(backend, str):
        name = backend or default_backend(device)
        impl = get_backend(name)
    elif isinstance(backend, tuple):  # (name, class) as backend_for returned it
        name, impl = backend
    else:
        impl = backend
        name = getattr(impl, "name", None) or getattr(impl, "__name__", repr(impl))
    try:
        offered = impl.supports_device(device)
    except Exception as exc:
        raise PluginError(f"backend {name!r}{_plugin_of(name)} failed in supports_device({device!r}): "
                          f"{_first_line(exc)}") from exc
    if not offered:
        raise UsageError(f"backend {name!r} does not offer device {device!r} here")
    return name, impl


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _plugin_of(name) -> str:
    """`` (plugin 'x')`` for a registered backend name, else ``""``."""
    item = get_registry().items["backend"].get(name) if isinstance(name, str) else None
    return f" (plugin {item.plugin!r})" if item is not None else ""


def check_outputs(model, outputs, backend: str = "backend") -> list:
    """``outputs`` as a list of arrays matching the graph's declared outputs, else ``PluginError``.

    Checked: a list or tuple (not a string or dict), one array per declared output, each
    with the declared dtype, rank and static dims. ``backend`` names who produced them.
    """
    import numpy as np
    from onnx import helper

    who = f"backend {backend!r}{_plugin_of(backend)}"
    declared = list(model.graph.output)
    if isinstance(outputs, (str, bytes, dict)) or outputs is None or not hasattr(outputs, "__len__"):
        raise PluginError(f"{who} returned {type(outputs).__name__}, not a list of {len(declared)} output array(s)")
    outputs = list(outputs)
    if len(outputs) != len(declared):
        raise PluginError(f"{who} returned {len(outputs)} output(s); the model declares {len(declared)}")
    checked = []
    for vi, value in zip(declared, outputs):
        if not vi.type.HasField("tensor_type"):  # a sequence, map or optional: returned as the backend gives it
            checked.append(value)
            continue
        if isinstance(value, (str, bytes, dict)) or value is None:
            raise PluginError(f"{who} returned {type(value).__name__} for output {vi.name!r}, not an array")
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise PluginError(f"{who} returned something that is not an array for output {vi.name!r}: "
                              f"{_first_line(exc)}") from exc
        tt = vi.type.tensor_type
        if tt.elem_type:
            try:
                want = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
            except (KeyError, TypeError, ValueError):
                want = None
            if want is not None and want.kind in "biufc" and arr.dtype != want:
                raise PluginError(f"{who} returned {arr.dtype} for output {vi.name!r}; the model declares {want}")
            if tt.HasField("shape"):
                # A negative dim_value (Paddle2ONNX writes -1) means "unknown", like a dim_param.
                dims = [d.dim_value if d.HasField("dim_value") and d.dim_value >= 0 else None for d in tt.shape.dim]
                bad = arr.ndim != len(dims) or any(d is not None and d != s for d, s in zip(dims, arr.shape))
                if bad:
                    want_shape = "x".join("?" if d is None else str(d) for d in dims) or "scalar"
                    got = "x".join(map(str, arr.shape)) or "scalar"
                    raise PluginError(f"{who} returned shape {got} for output {vi.name!r}; the model declares "
                                      f"{want_shape}")
        checked.append(arr)
    return checked


def load_model(model, check: bool = True):
    """A ``ModelProto`` from a path, bytes or a ``ModelProto``; ``onnx.checker`` runs unless ``check=False``."""
    from .modelio import load_model as _load

    return _load(model, check=check)


def run(model, inputs, backend=None, device: str = "cpu", *, checked: bool = False, **options) -> dict:
    """Run ``model`` (path, bytes or ``ModelProto``) and return ``{output_name: array}``.

    ``backend`` is a name or a class from ``backend_for``. ``checked=True`` says ``model``
    is a ``ModelProto`` that already passed ``load_model``: it is not checked again.
    ``options`` go to the backend's ``prepare``.
    """
    proto = load_model(model, check=not checked)
    name, impl = backend_for(backend, device)
    who = f"backend {name!r}{_plugin_of(name)}"
    step = "prepare the model" + (f" with options {sorted(options)}" if options else "")
    try:
        rep = impl.prepare(proto, device, **options)
        if rep is None:
            raise PluginError(f"{who} returned None from prepare()")
        step = "run the model"
        outputs = rep.run(inputs)
    except OnnxHubError:
        raise
    except MemoryError:
        raise PluginError(f"{who} ran out of memory trying to {step}") from None
    except Exception as exc:  # the backend failing on the user's model (or its options) is that model's error
        raise PluginError(f"{who} failed to {step}: {_first_line(exc)}") from exc
    outputs = check_outputs(proto, outputs, name)
    return dict(zip([o.name for o in proto.graph.output], outputs))


# -- converters ------------------------------------------------------------------
def import_model(model, to: str, output_dir, force: bool = False, *, checked: bool = False, **options) -> list[Path]:
    """Convert an ONNX model into framework ``to``'s files inside ``output_dir``.

    ``checked=True``: ``model`` is a ``ModelProto`` that already passed ``load_model``.
    ``force`` replaces ``output_dir`` only when it is an earlier ``import`` to ``to``
    (see ``modelio.check_output_dir``); the folder is checked before any work is done.
    """
    from .modelio import check_output_dir

    _check_option_names("import_model", options, ("to", "output_dir", "force", "checked", "input_shapes"))
    importer = _usable("importer", to)
    inputs = [model] if isinstance(model, (str, os.PathLike)) else []
    check_output_dir(Path(output_dir), _import_kind(to), force, inputs)
    return _import(load_model(model, check=not checked), importer, output_dir, force, kind=_import_kind(to),
                   inputs=inputs, **options)


def _import_kind(target: str) -> str:
    """The kind written into an output folder's marker: ``import`` and ``convert`` to MXNet share ``import:mxnet``."""
    return f"import:{target}"


def _import(proto, importer, output_dir, force: bool, *, kind: str, inputs=(), **options) -> list[Path]:
    from .modelio import atomic_dir

    output_dir = Path(output_dir)
    with atomic_dir(output_dir, force=force, kind=kind, inputs=inputs) as stage:
        written = importer.import_model(proto, stage, **options) or []
    return [output_dir / Path(p).relative_to(stage) for p in written]


# Options the hub itself passes to converters (docs/design.md, "Converter options").
CONVERTER_OPTIONS = ("input_shapes", "static_batch")


def _check_option_names(function: str, options: dict, known) -> None:
    """A misspelt keyword (``input_shape=``) is a one-line ``UsageError`` naming the close match.

    Other unknown names pass on: a converter may document options of its own, and refuses
    what it does not know itself.
    """
    import difflib

    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            if close:
                raise UsageError(f"{function}() has no option {name!r}; did you mean {close[0]!r}?")


def sniff_exporter(files) -> str:
    reg = get_registry()
    names = [Path(f).name for f in files]
    matches = [
        name
        for name, item in sorted(reg.items["exporter"].items())
        if any(fnmatch.fnmatch(n, pat) for n in names for pat in item.spec.patterns)
    ]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(reg.items["exporter"])) or "none installed"
    if not matches:
        raise UsageError(f"cannot tell which framework wrote {names}; pass --from (exporters: {known})")
    raise UsageError(f"files match several exporters ({', '.join(matches)}); pass --from")


def _exporter_for(files, source: str | None):
    """``(file paths as str, exporter)``: the files must exist; ``source`` defaults to sniffing."""
    paths = [Path(f) for f in files]
    for f in paths:
        if not f.is_file():
            raise InvalidModel(f"{f}: no such file")
    return [str(f) for f in paths], _usable("exporter", source or sniff_exporter(paths))


def export_model(files, source: str | None = None, opset: int = 17, **options):
    """Convert framework files to a checked ``onnx.ModelProto``."""
    _check_option_names("export_model", options, ("source", "opset") + CONVERTER_OPTIONS)
    paths, exporter = _exporter_for(files, source)
    return _export(paths, exporter, opset, **options)


def _export(paths, exporter, opset: int, **options):
    from .modelio import check_exported

    model = exporter.export(paths, opset=opset, **options)
    check_exported(model, input_shapes=options.get("input_shapes"))
    return model


def export_to_file(files, output, source: str | None = None, opset: int = 17, force: bool = False, **options):
    """Export straight to ``output``; returns the written model's ``(ir_version, opset)``.

    Exporters that offer ``export_streaming`` (model structure plus weights as arrays)
    are written one weight at a time, so converting a large model needs little memory.
    """
    from .modelio import check_exported, check_output_file, save_model, save_streaming

    _check_option_names("export_to_file", options, ("output", "source", "opset", "force") + CONVERTER_OPTIONS)
    check_output_file(Path(output), force, inputs=files)  # never an input, a device or a link; fail before the work
    paths, exporter = _exporter_for(files, source)
    if hasattr(exporter, "export_streaming"):
        model, weights = exporter.export_streaming(paths, opset=opset, **options)
        check_exported(model, weights, input_shapes=options.get("input_shapes"))
        save_streaming(model, weights, output, force=force, inputs=files)
    else:
        model = _export(paths, exporter, opset, **options)
        save_model(model, output, force=force, inputs=files)
    return model.ir_version, opset


def convert(files, source: str | None, target: str, output_dir, opset: int = 17, force: bool = False, *,
            verify: bool = False, rtol: float | None = None, atol: float | None = None, seed: int | None = None,
            **export_options):
    """Exporter of ``source`` then importer of ``target``: one export, one check, no re-check on import.

    Returns the written paths. With ``verify=True`` this is ``onnxhub convert --verify`` for one
    model (``onnxhub.conversion.convert_one_model``): the source files run on real ``source`` and
    the written files on real ``target`` (ONNX Runtime for ``target="onnx"``) on inputs seeded by
    ``seed`` (default 0), and it returns ``convert --json``'s dict, ``{"written": [paths],
    "differences": [rows], "ok"}``; ``ok`` is false when an output differs beyond ``rtol``
    (default 1e-3) and ``atol`` (default 1e-4). A mismatch is returned, not raised: check ``ok``.
    """
    from .modelio import check_output_dir

    _check_option_names("convert", export_options, ("source", "target", "output_dir", "opset", "force", "verify",
                                                     "rtol", "atol", "seed") + CONVERTER_OPTIONS)
    if verify:
        from . import conversion

        rtol, atol = conversion.RTOL if rtol is None else rtol, conversion.ATOL if atol is None else atol
        conversion.check_tolerances(rtol, atol)
        return conversion.convert_one_model(
            files, source or sniff_exporter(files), target, output_dir, opset=opset, force=force, verify=True,
            rtol=rtol, atol=atol, seed=0 if seed is None else seed, **export_options)
    given = [name for name, value in (("rtol", rtol), ("atol", atol), ("seed", seed)) if value is not None]
    if given:
        raise UsageError(f"convert(): {', '.join(given)} only apply with verify=True")
    importer = _usable("importer", target)  # a bad target or a full folder fails before the export
    kind = _import_kind(target)
    check_output_dir(Path(output_dir), kind, force, inputs=files)
    paths, exporter = _exporter_for(files, source)
    return _import(_export(paths, exporter, opset, **export_options), importer, output_dir, force, kind=kind,
                   inputs=files)
