"""One function per command. Heavy imports stay inside the functions that need them."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from .. import api
from ..errors import CheckFailed, UsageError
from .output import is_terminal, print_json, print_table


# -- listings ------------------------------------------------------------------
def list_backends(args):
    rows = api.backends()
    if args.json:
        return print_json([{k: r[k] for k in ("name", "summary", "plugin", "devices", "runtime", "status")} for r in rows])
    print_table(rows, [("name", "backend"), ("devices", "devices"), ("status", "status"), ("plugin", "plugin"),
                       ("runtime", "runtime"), ("summary", "summary")])
    _notes(rows)


def list_importers(args):
    rows = api.importers()
    if args.json:
        return print_json([{k: r[k] for k in ("name", "summary", "plugin", "runtime", "status")} for r in rows])
    print_table(rows, [("name", "importer"), ("status", "status"), ("plugin", "plugin"), ("summary", "summary")])
    _notes(rows)


def list_exporters(args):
    rows = api.exporters()
    if args.json:
        return print_json([{k: r[k] for k in ("name", "summary", "plugin", "patterns", "runtime", "status")} for r in rows])
    print_table(rows, [("name", "exporter"), ("status", "status"), ("plugin", "plugin"),
                       ("patterns", "files"), ("summary", "summary")])
    _notes(rows)


def _notes(rows):
    for r in rows:
        if r["status"] != "ready" and r["reason"]:
            sys.stdout.write(f"  {r['name']}: {r['status']}: {r['reason']}\n")


def plugins(args):
    rows = api.plugins()
    if args.json:
        return print_json(rows)
    print_table(rows, [("name", "plugin"), ("distribution", "distribution"), ("version", "version"),
                       ("status", "status"), ("hooks", "hooks"), ("error", "error")])


# -- running ---------------------------------------------------------------------
def _parse_pairs(pairs, what, convert=str) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} {pair!r} must look like KEY=VALUE")
        try:
            out[key] = convert(value)
        except ValueError:
            raise UsageError(f"{what} {pair!r}: bad value {value!r}") from None
    return out


def _option_value(text: str):
    """``--option`` values: JSON when it parses (numbers, true/false, objects), else a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _model_and_inputs(args):
    """The model, loaded and checked (the only time), and its checked inputs."""
    from ..inputs import check_inputs, input_specs, random_inputs, read_inputs

    model = api.load_model(args.model)
    names = [s[0] for s in input_specs(model)]
    feeds = {}
    if args.random_inputs:
        feeds.update(random_inputs(model, _parse_pairs(args.dim, "--dim", int), seed=args.seed))
    feeds.update(read_inputs(args.input, names))
    return model, check_inputs(model, feeds)


def run(args):
    import numpy as np

    from ..inputs import summarize
    from ..modelio import atomic_file, check_output_file

    inputs = [args.model] + [item.partition("=")[2] or item for item in args.input]  # NAME=FILE.npy or FILE.npz
    if args.output:
        check_output_file(Path(args.output), args.force, inputs)  # fail before the long part
    backend, impl = api.backend_for(args.backend, args.device)  # a bad name fails before any input is read
    options = _parse_pairs(args.option, "--option", _option_value)
    model, feeds = _model_and_inputs(args)
    outputs = api.run(model, feeds, backend=(backend, impl), device=args.device, checked=True, **options)
    rows = [summarize(name, value) for name, value in outputs.items()]
    if args.output:
        with atomic_file(args.output, force=args.force, inputs=inputs) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **{k: np.asarray(v) for k, v in outputs.items()})
    if args.json:
        return print_json({"backend": backend, "device": args.device, "outputs": rows, "saved": args.output})
    print_table(rows, [("name", "output"), ("dtype", "dtype"), ("shape", "shape"),
                       ("min", "min"), ("max", "max"), ("mean", "mean")], title=f"{args.model} on {backend}")
    if args.output:
        sys.stdout.write(f"outputs written to {args.output}\n")


def verify(args):
    """The outputs of backends 2.. against the first, by the rule and measures of ``convert --verify``
    (``conversion.compare``): pass is ``numpy.allclose``, max rel diff is relative to the output's magnitude."""
    from ..conversion import check_tolerances, compare

    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    if len(names) < 2:
        raise UsageError("--backends needs at least two backends, e.g. reference,onnxruntime")
    check_tolerances(args.rtol, args.atol)
    impls = {name: api.backend_for(name) for name in dict.fromkeys(names)}  # each named backend once
    model, feeds = _model_and_inputs(args)
    results = {name: api.run(model, dict(feeds), backend=impl, checked=True) for name, impl in impls.items()}
    if not model.graph.output:
        raise UsageError("the model declares no outputs; there is nothing to compare")
    base_name, base = names[0], results[names[0]]
    rows = []
    for name in names[1:]:
        for row in compare(list(base), base, results[name], args.rtol, args.atol, base_name, name):
            row["backend"], row["baseline"] = row.pop("target"), row.pop("source")
            rows.append(row)
    ok = all(row["ok"] for row in rows)
    if args.json:
        print_json({"backends": names, "rtol": args.rtol, "atol": args.atol, "ok": ok, "outputs": rows})
    else:
        print_table(rows, [("output", "output"), ("backend", "backend"), ("baseline", "vs"), ("max_abs", "max abs diff"),
                           ("max_rel", "max rel diff"), ("ok", "ok"), ("note", "note")])
    if not ok:
        raise CheckFailed(f"outputs differ beyond rtol={args.rtol} atol={args.atol}")


# -- converters ------------------------------------------------------------------
def converter_options(args) -> dict:
    """Options given on the command line for an importer or exporter, parsed once.

    Only those set are passed, so any converter accepts the call: ``input_shapes``
    (``{name: [dims]}``), ``static_batch`` (``True``) and every ``--option KEY=VALUE``
    (JSON values). The hook docstrings list what each kind of converter receives.
    """
    from ..export.shapes import parse_shapes

    options = _parse_pairs(getattr(args, "option", []), "--option", _option_value)
    if args.input_shape:
        options["input_shapes"] = parse_shapes(args.input_shape)
    if getattr(args, "static_batch", False):
        options["static_batch"] = True
    return options


def import_(args):
    if args.verify:  # the same check as convert --verify, with the ONNX file as the source
        from .convert import convert as convert_files

        for name, value in (("files", [args.model]), ("source", "onnx"), ("target", args.to), ("opset", 17),
                            ("jobs", 1), ("executor", "local"), ("scheduler", None)):
            setattr(args, name, value)
        return convert_files(args, converter_options(args))
    if args.json:
        raise UsageError("--json goes with --verify (a plain import prints the files it wrote)")
    written = api.import_model(args.model, args.to, args.output, force=args.force, **converter_options(args))
    for path in written:
        sys.stdout.write(f"wrote {path}\n")


def export(args):
    ir, opset = api.export_to_file(args.files, args.output, source=args.source, opset=args.opset, force=args.force,
                                   **converter_options(args))
    sys.stdout.write(f"wrote {args.output} (opset {opset}, IR {ir})\n")


def convert(args):
    """One model or an inventory, optionally verified: ``cli/convert.py``."""
    from .convert import convert as convert_files

    convert_files(args, converter_options(args))


# -- conformance -----------------------------------------------------------------
def test_backend(args):
    from ..conformance import report as reports
    from ..conformance.runner import run_suite
    from ..modelio import check_output_file

    if args.jobs < 1:
        raise UsageError(f"-j must be 1 or more, not {args.jobs}")
    if args.report:
        suffix = Path(args.report).suffix
        if suffix not in reports.WRITERS:
            got = f"{args.report!r} (no suffix)" if not suffix else f"{args.report!r} ({suffix})"
            raise UsageError(f"--report must end in {', '.join(reports.WRITERS)}: got {got}")
        check_output_file(Path(args.report), args.force)
    if args.min_pass is not None and not 0 <= args.min_pass <= 1:
        raise UsageError("--min-pass is a rate between 0 and 1")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout must be a number of seconds > 0, not {args.timeout}")
    if args.pattern is not None:
        import re

        try:
            re.compile(args.pattern)
        except re.error as exc:
            raise UsageError(f"-k {args.pattern!r} is not a valid regular expression: {exc}") from None
    result = run_suite(args.backend, pattern=args.pattern, jobs=args.jobs, device=args.device,
                       timeout=args.timeout, progress=not args.json and is_terminal(sys.stderr))
    if args.pattern is not None and not result.get("total", 1):
        raise UsageError(f"-k {args.pattern!r} matches no case of the suite")
    if args.report:
        reports.write(result, args.report, force=args.force)
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(reports.summary_line(result) + "\n")
        if args.report:
            sys.stdout.write(f"report written to {args.report}\n")
    if args.min_pass is not None and result["pass_rate"] < args.min_pass:
        raise CheckFailed(f"pass rate {result['pass_rate']:.4f} is below --min-pass {args.min_pass}")


# -- runtimes and health -----------------------------------------------------------
def runtime(args):
    from .. import runtime as runtimes

    if args.runtime_command == "list":
        rows = runtimes.list_runtimes()
        if args.json:
            return print_json(rows)
        if not rows:
            sys.stdout.write("no plugin registers a runtime\n")
            return None
        return print_table(rows, [("name", "runtime"), ("plugin", "plugin"), ("python", "python"),
                                  ("status", "status"), ("path", "path")])
    if args.runtime_command == "install":
        path = runtimes.install(args.name, python=args.python, force=args.force)
        sys.stdout.write(f"runtime {args.name} installed in {path}\n")
    elif args.runtime_command == "remove":
        runtimes.remove(args.name)
        sys.stdout.write(f"runtime {args.name} removed\n")


# Modules a plugin module must not pull in when imported (docs/plugins.md, "Rules").
HEAVY_MODULES = ("onnx", "numpy", "torch", "mxnet", "cntk", "caffe2", "tensorflow")

_IMPORT_PROBE = """
import contextlib, json, sys
from importlib import metadata
import onnxhub, onnxhub.specs, onnxhub.hookspecs
ep = next(ep for ep in metadata.entry_points(group="onnxhub") if ep.name == sys.argv[1])
before = set(sys.modules)
with contextlib.redirect_stdout(sys.stderr):
    ep.load()
new = {name.partition(".")[0] for name in set(sys.modules) - before}
print(json.dumps(sorted(new & set(sys.argv[2].split(",")))))
"""


def heavy_imports(names) -> dict[str, list[str] | str]:
    """``{plugin: [heavy modules its import pulled in]}``, each plugin imported in a fresh interpreter.

    A value that is a string is why the probe could not tell (it crashed or timed out).
    """
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    procs = {name: subprocess.Popen([sys.executable, "-c", _IMPORT_PROBE, name, ",".join(HEAVY_MODULES)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for name in names}
    found: dict[str, list[str] | str] = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            found[name] = "importing it took over 120 s"
            continue
        try:
            found[name] = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            last = (err.strip().splitlines() or ["no output"])[-1]
            found[name] = f"import probe failed: {last}"
    return found


def _resolve_target(target: str) -> str | None:
    """``None`` when ``target`` imports and resolves, else one line saying why not."""
    import contextlib

    from ..specs import load_target

    try:
        with contextlib.redirect_stdout(sys.stderr):
            load_target(target)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a plugin's SystemExit must not end doctor
        text = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return None


def doctor(args):
    """Check the installation; exit 1 when anything is wrong.

    Problems: a broken plugin, an adapter that is broken (missing module, unknown runtime)
    or whose ``target`` does not import and resolve, a plugin module whose import pulls
    in a heavy module (``HEAVY_MODULES``; checked in a fresh interpreter per plugin), and a
    broken runtime. A runtime that is only not installed is not a problem: it is an optional
    download (``runtime install``), so it keeps exit 0 but is named in the summary line.
    """
    report = doctor_report()
    if args.json:
        print_json(report)
    else:
        lines = [f"onnxhub {report['onnxhub']} on Python {report['python']} ({report['executable']})"]
        lines += [f"{module}: {v or 'not installed'}" for module, v in report["versions"].items()]
        for p in report["plugins"]:
            if p["status"] != "ok":
                lines.append(f"plugin {p['name']} ({p['distribution']} {p['version']}): BROKEN: {p['error']}")
            elif p["heavy"]:
                lines.append(f"plugin {p['name']}: HEAVY: {p['heavy']} (a plugin module must import nothing "
                             "heavy; import frameworks in the target)")
        for a in report["adapters"]:
            flag = "ok" if a["status"] == "ready" else f"{a['status'].upper()}: {a['reason']}"
            lines.append(f"{a['kind']} {a['name']} [{a['plugin']}]: {flag}")
        lines += [f"runtime {r['name']} [{r['plugin']}]: {r['status']} ({r['path']})" for r in report["runtimes"]]
        lines.append(doctor_summary(report))
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    problems = report["problems"]
    if problems:
        raise CheckFailed(f"doctor found {len(problems)} problem(s): {'; '.join(problems)}")


def doctor_summary(report: dict) -> str:
    """The last line: the problems, then the runtimes not installed (never "no problems" alone
    above a list of RUNTIME-MISSING adapters)."""
    problems = report["problems"]
    text = "no problems found" if not problems else f"{len(problems)} problem(s) found"
    missing = [r["name"] for r in report["runtimes"] if r["status"] == "missing"]
    if missing:
        text += f"; {len(missing)} runtime(s) not installed ({', '.join(missing)}): onnxhub runtime install NAME"
    return text


def doctor_report() -> dict:
    """What ``doctor`` checks, as ``doctor --json`` prints it (shape in docs/cli.md)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__
    from .. import runtime as runtimes
    from ..registry import get_registry

    versions = {}
    for module in ("onnx", "numpy", "onnxruntime"):
        try:
            versions[module] = version(module)
        except PackageNotFoundError:
            versions[module] = None
    problems = []
    plugins = [dict(p, heavy=None) for p in api.plugins()]
    for p in plugins:
        if p["status"] != "ok":
            problems.append(f"plugin {p['name']} is broken")
    heavy = heavy_imports([p["name"] for p in plugins if p["status"] == "ok"])
    for p in plugins:
        mods = heavy.get(p["name"])
        if mods:
            p["heavy"] = f"importing it pulled in {', '.join(mods)}" if isinstance(mods, list) else mods
            problems.append(f"plugin {p['name']} is not import-light")
    reg = get_registry()
    adapters = []
    for kind, rows in (("backend", api.backends()), ("importer", api.importers()), ("exporter", api.exporters())):
        for r in rows:
            row = {"kind": kind, "name": r["name"], "plugin": r["plugin"], "runtime": r["runtime"],
                   "status": r["status"], "reason": r["reason"]}
            if r["status"] == "broken":
                problems.append(f"{kind} {r['name']} is broken")
            else:  # resolving the target is where importing is fine
                target = reg.items[kind][r["name"]].spec.target
                failed = _resolve_target(target)
                if failed:
                    problems.append(f"{kind} {r['name']}: target {target} does not resolve")
                    row.update(status="broken", reason=f"target {target} does not resolve: {failed}")
            adapters.append(row)
    rows = runtimes.list_runtimes()
    problems += [f"runtime {r['name']} is broken" for r in rows if r["status"] == "broken"]
    return {"onnxhub": __version__, "python": platform.python_version(), "executable": sys.executable,
            "versions": versions, "plugins": plugins, "adapters": adapters,
            "runtimes": [{k: r[k] for k in ("name", "plugin", "python", "status", "path")} for r in rows],
            "problems": problems, "ok": not problems}


def new_plugin(args):
    from ..scaffold import parse_kinds, write

    path = write(args.name, args.kind, args.output, force=args.force)
    sys.stdout.write(f"wrote {' + '.join(parse_kinds(args.kind))} plugin project {path}\n"
                     f"next: pip install -e '{path}[test]' && (cd {path} && pytest)\n")
