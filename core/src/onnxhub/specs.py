"""What a plugin registers: plain, immutable descriptions of its adapters.

Nothing here imports a framework. ``target`` names the object that does the work as
``"package.module:Attribute"``; it is imported only when the adapter is used, so
listing and ``--help`` stay fast and never touch onnx, numpy or a framework.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def load_target(target: str):
    """Import ``"package.module:Attr.sub"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _check(kind: str, name: str, summary: str, target: str | None) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be lower-case letters, digits, '_', '-' or '.'")
    if not isinstance(summary, str) or "\n" in summary:
        raise ValueError(f"{kind} {name!r}: summary must be a one-line string")
    if target is not None and not _TARGET.match(target):
        raise ValueError(f"{kind} {name!r}: target {target!r} must look like 'package.module:Attribute'")


def _pairs(kind: str, name: str, field_name: str, pairs) -> tuple[tuple[str, str], ...]:
    if isinstance(pairs, str) or not all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs):
        raise TypeError(f"{kind} {name!r}: {field_name} must be (str, str) pairs, not {pairs!r}")
    return tuple(tuple(p) for p in pairs)


def _strings(kind: str, name: str, field_name: str, value) -> tuple[str, ...]:
    """A tuple of strings; a lone string is refused (``devices="cpu"`` is not three devices)."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{kind} {name!r}: {field_name} must be a tuple of strings, not {value!r}")
    return tuple(value)


def _optional_str(kind: str, name: str, field_name: str, value) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{kind} {name!r}: {field_name} must be a string or None, not {value!r}")


@dataclass(frozen=True)
class BackendSpec:
    """An execution backend: runs ONNX models.

    ``target`` is an ``onnx.backend.base.Backend``-compatible class or module
    (``prepare``, ``run_model``, ``supports_device``). ``devices`` lists the devices
    it can offer here (lower case: ``cpu``, ``cuda``, ...). ``runtime`` names the
    isolated runtime it executes in, if any. ``requires`` lists top-level Python
    modules that must be importable (checked without importing them). The ready
    backend with the highest ``priority`` is the default of ``onnxhub run``. ``env``:
    ``(NAME, VALUE)`` pairs its conformance workers (``onnxhub test-backend``) start with,
    e.g. a numeric library's kernel and thread count pinned, so the counts do not move
    with the CPU.
    """

    name: str
    summary: str
    target: str
    devices: tuple[str, ...] = ("cpu",)
    runtime: str | None = None
    requires: tuple[str, ...] = ()
    priority: int = 0
    env: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        _check("backend", self.name, self.summary, self.target)
        devices = _strings("backend", self.name, "devices", self.devices)
        object.__setattr__(self, "devices", tuple(d.lower() for d in devices))
        object.__setattr__(self, "requires", _strings("backend", self.name, "requires", self.requires))
        _optional_str("backend", self.name, "runtime", self.runtime)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise TypeError(f"backend {self.name!r}: priority must be an int, not {self.priority!r}")
        object.__setattr__(self, "env", _pairs("backend", self.name, "env", self.env))


@dataclass(frozen=True)
class ImporterSpec:
    """An importer: ONNX model -> the framework's own files.

    ``target`` is an object with ``import_model(model, output_dir, **options)``
    that writes into ``output_dir`` (an empty staging folder) and returns the
    written paths. ``model`` is an already validated ``onnx.ModelProto``.
    """

    name: str
    summary: str
    target: str
    runtime: str | None = None
    requires: tuple[str, ...] = ()

    def __post_init__(self):
        _check("importer", self.name, self.summary, self.target)
        object.__setattr__(self, "requires", _strings("importer", self.name, "requires", self.requires))
        _optional_str("importer", self.name, "runtime", self.runtime)


@dataclass(frozen=True)
class ExporterSpec:
    """An exporter: the framework's own files -> ONNX.

    ``target`` is an object with ``export(files, opset=17, **options)`` returning an
    ``onnx.ModelProto``. ``patterns`` are file-name globs (``"*-symbol.json"``) used
    to recognise this framework's files when ``--from`` is not given.
    """

    name: str
    summary: str
    target: str
    patterns: tuple[str, ...] = ()
    runtime: str | None = None
    requires: tuple[str, ...] = ()

    def __post_init__(self):
        _check("exporter", self.name, self.summary, self.target)
        object.__setattr__(self, "patterns", _strings("exporter", self.name, "patterns", self.patterns))
        object.__setattr__(self, "requires", _strings("exporter", self.name, "requires", self.requires))
        _optional_str("exporter", self.name, "runtime", self.runtime)


@dataclass(frozen=True)
class RuntimeSpec:
    """An isolated Python environment a plugin runs its framework in.

    - ``python``: interpreter versions it needs, as a specifier (``">=3.6,<3.7"``).
    - ``requirements``: pinned requirements, installed in one resolver call with
      themselves as constraints, so nothing later can drift (e.g. numpy 2).
    - ``system_libs``: ``(soname, install_hint)`` pairs checked before any download.
    - ``fixups``: optional ``"module:function"`` called as ``function(env_dir, python)``
      after the install (in the hub's interpreter), e.g. to create symlinks.
    - ``handler``: the runtime-side module (``"package.module"``), run by path in the
      runtime's interpreter; it must stay valid for that interpreter's Python.
    - ``env``: ``(NAME, VALUE)`` pairs set for the worker (``OMP_NUM_THREADS``...).
    - ``download``: optional one line saying what an install costs, e.g. ``"about 85 MB
      download, about 360 MB installed; 1-2 minutes"``; ``runtime install`` prints it
      before it downloads anything, and ``runtime install --help`` lists it per runtime.
    """

    name: str
    summary: str
    python: str
    requirements: tuple[str, ...] = ()
    system_libs: tuple[tuple[str, str], ...] = ()
    fixups: str | None = None
    handler: str | None = None
    env: tuple[tuple[str, str], ...] = field(default=())
    download: str | None = None

    def __post_init__(self):
        _check("runtime", self.name, self.summary, self.fixups)
        if not isinstance(self.python, str):
            raise TypeError(f"runtime {self.name!r}: python must be a specifier string, not {self.python!r}")
        object.__setattr__(self, "requirements", _strings("runtime", self.name, "requirements", self.requirements))
        for attr in ("system_libs", "env"):
            object.__setattr__(self, attr, _pairs("runtime", self.name, attr, getattr(self, attr)))
        _optional_str("runtime", self.name, "handler", self.handler)
        _optional_str("runtime", self.name, "download", self.download)
        if self.download is not None and "\n" in self.download:
            raise ValueError(f"runtime {self.name!r}: download must be one line")
