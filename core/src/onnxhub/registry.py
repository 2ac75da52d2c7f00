"""Plugin discovery: load entry points one at a time, record what each registers.

Built-ins are plugins too: the core's own entry point (distribution ``onnxhub``)
goes through exactly the same hooks as a third party's, and is always loaded.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import PluginError
from .home import runtime_installed, runtime_interpreter_problem
from .specs import BackendSpec, ExporterSpec, ImporterSpec, RuntimeSpec

GROUP = "onnxhub"
CORE_DISTRIBUTION = "onnxhub"

# kind -> (hook name, spec type)
KINDS = {
    "backend": ("register_backends", BackendSpec),
    "importer": ("register_importers", ImporterSpec),
    "exporter": ("register_exporters", ExporterSpec),
    "runtime": ("register_runtimes", RuntimeSpec),
}


@dataclass
class PluginRecord:
    name: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | broken
    error: str | None = None

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True)
class Registered:
    """A spec together with the plugin that registered it."""

    spec: BackendSpec | ImporterSpec | ExporterSpec | RuntimeSpec
    plugin: str


def _selected_names() -> set[str] | None:
    raw = os.environ.get("ONNXHUB_PLUGINS")
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class Registry:
    def __init__(self):
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginRecord] = {}
        self.items: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}

    # -- loading ---------------------------------------------------------------
    def load_entry_points(self) -> None:
        selected = _selected_names()
        eps = metadata.entry_points(group=GROUP)
        for name in sorted((selected or set()) - {ep.name for ep in eps}):
            self.plugins[name] = PluginRecord(name=name, distribution="?", version="?", builtin=False,
                                              status="broken", error="ONNXHUB_PLUGINS names it, but no installed "
                                              "plugin has this entry point")
        # Built-ins first, so a third party can never shadow a core name.
        ordered = sorted(eps, key=lambda ep: (not _is_builtin(ep), ep.name))
        for ep in ordered:
            if selected is not None and not _is_builtin(ep) and ep.name not in selected:
                continue
            if ep.name in self.plugins:  # same entry point visible twice on sys.path
                continue
            dist = ep.dist
            record = PluginRecord(
                name=ep.name,
                distribution=dist.name if dist else "?",
                version=dist.version if dist else "?",
                builtin=_is_builtin(ep),
            )
            self.plugins[ep.name] = record
            try:
                with _plugin_boundary():
                    module = ep.load()
            except _PluginFailed as failed:  # a broken plugin must not break the hub
                record.status, record.error = "broken", f"import failed: {failed}"
                continue
            self.add_plugin(module, record)

    def add_plugin(self, module, record: PluginRecord) -> None:
        """Register one plugin module and call its hooks, isolating its failures."""
        self.plugins[record.name] = record
        try:
            self.pm.register(module, name=record.name)
        except Exception as exc:
            record.status, record.error = "broken", _one_line(exc)
            return
        unknown = _unknown_hooks(self.pm, module)
        if unknown:  # pytest refuses unknown hooks too: a misspelt hook would silently do nothing
            record.status, record.error = "broken", unknown
            self.pm.unregister(module)
            return
        others = [p for p in self.pm.get_plugins() if p is not module]
        staged: dict[str, list] = {}
        try:
            with _plugin_boundary():
                for kind, (hook_name, spec_type) in KINDS.items():
                    if not any(i.plugin is module for i in getattr(self.pm.hook, hook_name).get_hookimpls()):
                        continue
                    record.hooks.append(hook_name)
                    specs = staged.setdefault(kind, [])
                    self.pm.subset_hook_caller(hook_name, remove_plugins=others)(
                        register=_registrar(kind, spec_type, specs)
                    )
            self._commit(record, staged)
        except (_PluginFailed, PluginError) as exc:
            record.status, record.error = "broken", str(exc) if isinstance(exc, _PluginFailed) else _one_line(exc)
            self.pm.unregister(module)

    def _commit(self, record: PluginRecord, staged: dict[str, list]) -> None:
        for kind, specs in staged.items():
            seen = set()
            for spec in specs:
                owner = self.items[kind].get(spec.name)
                if owner is not None or spec.name in seen:
                    first = owner.plugin if owner else record.name
                    raise PluginError(
                        f"{kind} name {spec.name!r} is registered by both plugin "
                        f"{first!r} and plugin {record.name!r}"
                    )
                seen.add(spec.name)
        for kind, specs in staged.items():
            for spec in specs:
                self.items[kind][spec.name] = Registered(spec, record.name)

    # -- lookups ---------------------------------------------------------------
    def get(self, kind: str, name: str) -> Registered:
        try:
            return self.items[kind][name]
        except KeyError:
            # "known": registered by the installed plugins; for runtimes that is not "installed"
            known = ", ".join(sorted(self.items[kind])) or "none"
            msg = f"no {kind} named {name!r} (known: {known}"
            if kind == "runtime":
                installed = [n for n in sorted(self.items[kind]) if runtime_installed(n)]
                msg += f"; installed: {', '.join(installed) or 'none'}"
            msg += ")"
            broken = [p.name for p in self.plugins.values() if p.status == "broken"]
            if broken:
                msg += f"; broken plugins: {', '.join(broken)} (see 'onnxhub plugins')"
            raise PluginError(msg) from None

    def status(self, kind: str, name: str) -> tuple[str, str | None]:
        """``(status, reason)``: ``ready``, ``runtime-missing`` or ``broken``. Imports nothing."""
        spec = self.get(kind, name).spec
        for module in getattr(spec, "requires", ()):
            if importlib.util.find_spec(module) is None:
                return "broken", f"Python module {module!r} is not installed"
        runtime = getattr(spec, "runtime", None)
        if runtime:
            if runtime not in self.items["runtime"]:
                return "broken", f"runtime {runtime!r} is not registered by any plugin"
            if not runtime_installed(runtime):
                return "runtime-missing", f"run: onnxhub runtime install {runtime}"
            problem = runtime_interpreter_problem(runtime)
            if problem:
                return "broken", problem
        return "ready", None


class _PluginFailed(Exception):
    """A plugin's import or hook raised; the message is one line naming the exception."""


@contextlib.contextmanager
def _plugin_boundary():
    """Run plugin code: its failures become ``_PluginFailed``, its prints go to stderr.

    Any ``BaseException`` but Ctrl-C counts (a plugin's ``SystemExit`` must not end the
    hub), and stdout is redirected so a chatty plugin cannot corrupt ``--json`` output.
    """
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except KeyboardInterrupt:
        raise
    except PluginError:
        raise
    except BaseException as exc:
        raise _PluginFailed(_one_line(exc)) from None


def _unknown_hooks(pm, module) -> str | None:
    """``"unknown hook 'x' (did you mean 'y'?)"`` for hook implementations no spec declares."""
    specs = [name for name in dir(hookspecs) if name.startswith("register_")]
    problems = []
    for caller in pm.get_hookcallers(module) or []:
        if caller.spec is None:
            close = difflib.get_close_matches(caller.name, specs, n=1)
            problems.append(f"unknown hook {caller.name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return "; ".join(problems) or None


def _is_builtin(ep) -> bool:
    return ep.dist is not None and ep.dist.name == CORE_DISTRIBUTION


def _registrar(kind: str, spec_type: type, sink: list):
    def register(spec):
        if not isinstance(spec, spec_type):
            raise TypeError(f"register_{kind}s expects {spec_type.__name__}, got {type(spec).__name__}")
        sink.append(spec)

    return register


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _registry
    if _registry is None:
        reg = Registry()
        reg.load_entry_points()
        _registry = reg
    return _registry


def reset_registry() -> None:
    """Forget the discovered plugins (tests, or after installing a plugin)."""
    global _registry
    _registry = None
