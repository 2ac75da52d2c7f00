"""Converting an inventory: many models, each into its own sub-folder, resumable.

``onnxhub convert FOLDER|GLOB... --from A --to B -o DIR`` finds every model of A under
its arguments (files matching the exporter's ``patterns``, grouped into models by the
exporter's optional ``group_files`` or, without it, by folder and the part of the name a
pattern's ``*`` matched), then converts each with ``onnxhub.conversion.convert_one_model``
in worker processes (``onnxhub.executors``). Layout of ``DIR``::

    DIR/NAME/...                       one folder per model (with its .onnxhub-output.json)
    DIR/.onnxhub-inventory/NAME.json   the model's record, written when it finishes
    DIR/report.json, DIR/report.md     the whole run, written at the end

A model whose record says it converted (``ok``; ``mismatch`` and ``failed`` are redone)
with the same settings is skipped on the next run unless ``--force``, so a killed run
resumes where it stopped. One model failing never stops the others.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import json
import os
import re
import time
from pathlib import Path

from .errors import UsageError

STATE = ".onnxhub-inventory"
INFO = "inventory.json"
REPORT_JSON, REPORT_MD = "report.json", "report.md"
# Names of the inventory's own entries: out/NAME/ and out/STATE/NAME.json must never be one of them.
RESERVED = frozenset({REPORT_JSON, REPORT_MD, STATE, Path(INFO).stem})
GLOB_CHARS = re.compile(r"[*?\[]")


# -- finding models ----------------------------------------------------------------
def is_inventory(files) -> bool:
    """Whether the arguments name folders or globs (otherwise they are one model's files, or several)."""
    return any(Path(f).is_dir() or (GLOB_CHARS.search(str(f)) and not Path(f).exists()) for f in files)


def _expand(args, exclude: Path | None) -> list[tuple[Path, Path]]:
    """``(file, root)`` for every file under the arguments; ``root`` is what names are made relative to."""
    excluded = os.path.realpath(exclude) if exclude is not None else None
    found, missing = [], []
    for arg in map(str, args):
        path = Path(arg)
        if path.is_dir():
            visited = {os.path.realpath(path)}
            # Linked folders are searched (a zoo of links to where the models lie); each real folder once,
            # so a link to a parent cannot loop.
            for folder, dirs, names in os.walk(path, followlinks=True):
                keep = []
                for d in sorted(dirs):
                    real = os.path.realpath(os.path.join(folder, d))
                    if not d.startswith(".") and real != excluded and real not in visited:
                        visited.add(real)
                        keep.append(d)
                dirs[:] = keep
                found += [(Path(folder) / n, path) for n in sorted(names) if not n.startswith(".")]
        elif path.is_file():
            found.append((path, path.parent))
        elif GLOB_CHARS.search(arg):
            hits = sorted(glob.glob(arg, recursive=True))
            if not hits:
                missing.append(arg)
            for hit in map(Path, hits):
                if hit.is_dir():
                    found += _expand([hit], exclude)
                elif hit.is_file():
                    found.append((hit, hit.parent))
        else:
            missing.append(arg)
    if missing:
        raise UsageError(f"{missing[0]}: no such file, folder or matching glob")
    seen, unique = set(), []
    for f, root in found:
        key = os.path.realpath(f)
        if key not in seen and (excluded is None or not key.startswith(excluded + os.sep)):
            seen.add(key)
            unique.append((f, root))
    return unique


def _capture(name: str, patterns) -> str | None:
    """The text a pattern's first ``*`` matched in ``name``; ``None`` when no pattern matches."""
    for pat in patterns:
        if fnmatch.fnmatch(name, pat):
            if "*" not in pat:
                return ""
            head, _, tail = pat.partition("*")
            rest = name[len(head):]
            tail_literal = tail.split("*")[0].split("?")[0].split("[")[0]
            return rest[:rest.find(tail_literal)] if tail_literal and tail_literal in rest else rest
    return None


def default_groups(paths: list[str], patterns) -> list[list[str]]:
    """Files in one folder whose pattern ``*`` matched the same text form one model."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in paths:
        key = (str(Path(p).parent), _capture(Path(p).name, patterns) or "")
        groups.setdefault(key, []).append(p)
    return list(groups.values())


def _model_name(files: list[str], patterns=()) -> str:
    names = [Path(f).name for f in files]
    if len(names) == 1:
        stem = _capture(names[0], patterns) or Path(names[0]).stem
    else:
        stem = os.path.commonprefix(names).rstrip("-_. ")
    return stem or Path(files[0]).parent.name or "model"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def find_models(args, source: str, exporter=None, exclude=None) -> list[dict]:
    """``[{"name", "files"}]``: every model of exporter ``source`` under ``args``, names unique and folder-safe.

    ``exporter`` is the loaded target when the caller has it (its ``group_files`` groups the files).
    """
    from .api import _usable
    from .conversion import ONNX_SOURCE, OnnxSource
    from .registry import get_registry

    patterns = OnnxSource.patterns if source == ONNX_SOURCE else get_registry().get("exporter", source).spec.patterns

    def ours(name: str) -> bool:
        return not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)

    pairs = _expand(args, Path(exclude) if exclude is not None else None)
    roots = {os.path.abspath(f): root for f, root in pairs}
    named = [os.path.abspath(f) for f, _ in pairs if ours(f.name)]
    # A file named alone (or by a glob) brings its model's other files along: the siblings
    # matching the patterns (``x-symbol.json`` brings ``x-0000.params``); only models
    # holding a named file are kept.
    candidates = dict.fromkeys(named)
    for folder in sorted({os.path.dirname(f) for f in named}):
        try:
            siblings = sorted(n for n in os.listdir(folder) if not n.startswith("."))
        except OSError:
            continue
        candidates.update(dict.fromkeys(os.path.join(folder, n) for n in siblings
                                        if ours(n) and os.path.isfile(os.path.join(folder, n))))
    if exporter is None:
        exporter = OnnxSource() if source == ONNX_SOURCE else _usable("exporter", source)
    grouper = getattr(exporter, "group_files", None)
    paths = list(candidates)
    groups = grouper(paths) if callable(grouper) else default_groups(paths, patterns)
    wanted = set(named)
    kept = [[os.path.abspath(f) for f in files] for files in groups]
    kept = [files for files in kept if files and wanted.intersection(files)]
    bases = [_model_name(files, patterns) for files in kept]
    shared = {b for b in bases if bases.count(b) > 1}
    models, taken = [], set(RESERVED)  # a model never takes a name the inventory's own files use
    for files, base in zip(kept, bases):
        name = _safe(base)
        if base in shared:  # the same name in several folders: each is named after its folder (all, not the 2nd on)
            root = os.path.abspath(roots.get(files[0], Path(files[0]).parent))
            rel = [p for p in Path(os.path.relpath(Path(files[0]).parent, root)).parts if p not in (".", "..")]
            name = _safe("_".join([*rel, base]))
        n = 2
        unique = name
        while unique in taken:
            unique, n = f"{name}-{n}", n + 1
        taken.add(unique)
        models.append({"name": unique, "files": files})
    return sorted(models, key=lambda m: m["name"])


# -- the inventory folder --------------------------------------------------------------
def prepare_output(out: Path, inputs) -> None:
    """``out`` must be new, empty or an inventory folder onnxhub wrote; never the cwd, an input or a link."""
    from .modelio import _realpath, _refuse_inputs

    real = _realpath(out)
    if _realpath(os.getcwd()).is_relative_to(real):
        raise UsageError(f"output folder {out} is (or holds) the current folder; name a new folder to write")
    _refuse_inputs(out, inputs, folder=True)
    if os.path.islink(out):
        raise UsageError(f"{out} is a symbolic link; onnxhub does not write through links (give the real folder)")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / STATE / INFO).is_file():
            raise UsageError(f"{out} holds files onnxhub did not write (no {STATE}/{INFO}); "
                             "name a new or empty folder for an inventory")
    try:
        (out / STATE).mkdir(parents=True, exist_ok=True)
        info = out / STATE / INFO
        if not info.exists():
            from . import __version__

            info.write_text(json.dumps({"tool": "onnxhub", "version": __version__, "kind": "inventory"}) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the output folder {out}: {exc.strerror or exc}") from None


def discard_unused(out: Path, created: bool) -> None:
    """Remove the state folder ``prepare_output`` made (and ``out``, if it made that too) while no
    model has been converted into it: a run that failed to start leaves nothing behind."""
    import shutil

    state = out / STATE
    try:
        if [p.name for p in state.iterdir()] != [INFO] or [p.name for p in out.iterdir()] != [STATE]:
            return
        shutil.rmtree(state)
        if created:
            out.rmdir()
    except OSError:
        pass


def settings_key(settings: dict) -> dict:
    """The settings a finished model must have been converted with to be skipped."""
    return {k: settings[k] for k in ("source", "target", "opset", "options")}


def finished(out: Path, model: dict, settings: dict) -> dict | None:
    """The record of ``model`` when an earlier run converted it (with these settings and, if asked, verified)."""
    try:
        record = json.loads((out / STATE / f"{model['name']}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("status") != "ok" or record.get("settings") != settings_key(settings):
        return None
    if record.get("files") != model["files"] or not (out / model["name"]).is_dir():
        return None
    if settings["verify"] and (not record.get("verified") or record.get("rtol", 0) > settings["rtol"]
                               or record.get("atol", 0) > settings["atol"] or record.get("seed") != settings["seed"]):
        return None
    return record


def _write_record(out: Path, record: dict) -> None:
    """Atomically (rename), so a record is whole or absent however the process ends."""
    path = out / STATE / f"{record['name']}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- one model (runs in a worker process: local pool or a Dask worker) ---------------------
def convert_task(task: dict) -> dict:
    """Convert one model of an inventory; never raises: a failure is the record's ``error``.

    ``task``: ``{"name", "files", "out", "settings"}`` (plain JSON data, so any executor can
    ship it). Writes ``out/NAME/`` and then ``out/.onnxhub-inventory/NAME.json``.
    """
    from .conversion import convert_one_model

    s = task["settings"]
    out = Path(task["out"])
    record = {"name": task["name"], "files": task["files"], "output": str(out / task["name"]),
              "settings": settings_key(s), "verified": bool(s["verify"]), "rtol": s["rtol"], "atol": s["atol"],
              "seed": s["seed"], "status": "failed", "differences": None, "error": None, "seconds": None,
              "host": os.uname().nodename if hasattr(os, "uname") else "", "pid": os.getpid()}
    start = time.perf_counter()
    try:
        # Inside the inventory folder a model's sub-folder is onnxhub's own: it may replace its
        # own earlier output of this kind (never anything else: see modelio.atomic_dir).
        result = convert_one_model(task["files"], s["source"], s["target"], out / task["name"], opset=s["opset"],
                                   force=True, verify=s["verify"], rtol=s["rtol"], atol=s["atol"], seed=s["seed"],
                                   **s["options"])
        record.update(status="ok" if result["ok"] else "mismatch", differences=result["differences"],
                      written=[os.path.relpath(p, out) for p in result["written"]])
    except Exception as exc:  # noqa: BLE001 -- one bad model never stops the others
        text = str(exc).strip().splitlines()
        record["error"] = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    record["seconds"] = round(time.perf_counter() - start, 3)
    try:
        _write_record(out, record)
    except OSError as exc:
        record.update(status="failed", error=f"cannot write the record: {exc}")
    return record


# -- the whole run -------------------------------------------------------------------------
def run(models: list[dict], out: Path, settings: dict, *, jobs: int = 1, executor: str = "local",
        scheduler: str | None = None, force: bool = False, progress: bool = False) -> dict:
    """Convert every model not finished earlier; returns the report (also written to ``out``)."""
    from . import executors

    start = time.perf_counter()
    earlier, todo = {}, []
    for m in models:
        record = None if force else finished(out, m, settings)
        if record is not None:
            earlier[m["name"]] = dict(record, resumed=True)
        else:
            todo.append({"name": m["name"], "files": m["files"], "out": str(out), "settings": settings})
    # Largest models first (by the size of their files): a big model started last would
    # leave the other workers idle while it finishes.
    todo.sort(key=lambda t: -_size(t["files"]))
    results = dict(earlier)
    bar = _Progress(len(models), len(earlier)) if progress else None
    try:
        with contextlib.closing(executors.run(executor, convert_task, todo, jobs=jobs, scheduler=scheduler)) as it:
            for record in it:
                results[record["name"]] = dict(record, resumed=False)
                if bar:
                    bar.advance(record)
    finally:
        if bar:
            bar.close()
        # The executor has stopped its workers: staging that one of them left (killed before it
        # could clean up) belongs to a dead process now and goes.
        from .modelio import sweep_stale

        for folder in (out, out / STATE):
            sweep_stale(folder)
    report = make_report(models, results, settings, executor, jobs, time.perf_counter() - start)
    write_report(out, report)
    return report


def _size(files) -> int:
    total = 0
    for f in files:
        try:
            total += os.stat(f).st_size
        except OSError:
            pass
    return total


def make_report(models, results, settings, executor, jobs, seconds) -> dict:
    rows = []
    for m in models:
        r = results.get(m["name"]) or {"status": "failed", "error": "not run", "differences": None, "seconds": None}
        rows.append({"name": m["name"], "files": m["files"], "output": m["name"], "status": r["status"],
                     "resumed": bool(r.get("resumed")), "seconds": r.get("seconds"),
                     "differences": r.get("differences"), "error": r.get("error")})
    count = {s: sum(r["status"] == s for r in rows) for s in ("ok", "mismatch", "failed")}
    return {"source": settings["source"], "target": settings["target"], "opset": settings["opset"],
            "verify": settings["verify"], "rtol": settings["rtol"], "atol": settings["atol"], "seed": settings["seed"],
            "executor": executor, "jobs": jobs, "total": len(rows), **count,
            "resumed": sum(r["resumed"] for r in rows), "seconds": round(seconds, 3), "models": rows}


def write_report(out: Path, report: dict) -> None:
    from .modelio import atomic_file

    # Inside onnxhub's own inventory folder the reports are its own: replaced on every run.
    with atomic_file(out / REPORT_JSON, force=True) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    with atomic_file(out / REPORT_MD, force=True) as tmp:
        tmp.write_text(markdown(report), encoding="utf-8")


def _num(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def notes(differences) -> str:
    """The verified outputs' notes in one line (``output: note; ...``): beyond tolerance, or below atol."""
    return "; ".join(f"{d.get('output')}: {d['note']}" for d in differences or () if d.get("note"))


def markdown(report: dict) -> str:
    lines = [f"# Conversion {report['source']} -> {report['target']}", "",
             f"{report['total']} models: {report['ok']} ok, {report['mismatch']} mismatch, {report['failed']} failed "
             f"({report['resumed']} from an earlier run); executor {report['executor']}, {report['jobs']} job(s), "
             f"{report['seconds']:.1f} s." + (f" Verified at rtol {report['rtol']}, atol {report['atol']}, "
                                               f"seed {report['seed']}." if report["verify"] else ""), "",
             "| model | source | status | max abs diff | max rel diff | seconds | error or note |",
             "|---|---|---|---|---|---|---|"]
    for r in report["models"]:
        diffs = r["differences"] or []
        abs_ = max((d["max_abs"] for d in diffs if d["max_abs"] is not None), default=None)
        rel = max((d["max_rel"] for d in diffs if d["max_rel"] is not None), default=None)
        error = (r["error"] or notes(diffs)).replace("|", "\\|")
        source = "<br>".join(f"`{f}`" for f in r.get("files") or ()).replace("|", "\\|")
        lines.append(f"| {r['name']} | {source} | {r['status']}{' (earlier run)' if r['resumed'] else ''} | "
                     f"{_num(abs_)} | {_num(rel)} | {_num(r['seconds'])} | {error} |")
    return "\n".join(lines) + "\n"


class _Progress:
    """A progress bar on stderr (only when it is a terminal)."""

    def __init__(self, total: int, done: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("converting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[last]}"), console=Console(stderr=True), transient=False)
        self.task = self.progress.add_task("convert", total=total, completed=done, last="")
        self.progress.start()

    def advance(self, record: dict) -> None:
        self.progress.update(self.task, advance=1, last=f"{record['name']}: {record['status']}")

    def close(self) -> None:
        self.progress.stop()


# -- the conversion matrix (docs/switching.md) ------------------------------------------------
MATRIX_MARKER = "<!-- conversion matrix -->"
FRAMEWORKS = ("mxnet", "caffe2", "cntk")


def classify(model: dict) -> str:
    """Why a model of a matrix report is not verified, in a few words (``""`` when it is).

    ``target cannot express it``: the target's importer refused the model (an op or a form
    it lacks, a limit of the framework such as CNTK's batch axis); ``source exporter lacks
    it``: the exporter refused; ``converter bug``: anything else (the converted model ran
    and differed, or a step failed unexpectedly).
    """
    status, error = model.get("status"), model.get("error") or ""
    if status == "ok":
        return ""
    if status == "mismatch":
        return "converter bug: outputs differ beyond tolerance"
    kind, _, text = error.partition(": ")
    op = re.match(r"unsupported operator (.+?)(?: \(| at opset| in the |$)", text)
    if kind in ("UnsupportedOperator", "UnsupportedModel", "UnsupportedDtype") or "refuse" in text:
        who = re.search(r"in the (\S+) (importer|exporter)", text)
        if who and who.group(2) == "exporter" or "exporter" in text and "importer" not in text:
            return f"source exporter lacks {op.group(1) if op else 'it'}"
        if "limit" in text or "batch axis" in text:
            return f"target limit{' (' + op.group(1) + ')' if op else ''}: the target cannot express it"
        return f"target lacks {op.group(1) if op else 'a feature'}: the target cannot express it"
    return "converter bug"


def _matrix_heatmap(reports: dict, sources, targets) -> str:
    """The matrix at a glance, inline SVG: each cell coloured by the share of models verified."""
    from .heatmap import svg

    def cell(source, target):
        rep = reports.get((source, target))
        if rep is None or not rep["total"]:
            return None, "pending", f"{source} -> {target}: no report yet"
        verified = sum(m["status"] == "ok" for m in rep["models"]) if rep["verify"] else 0
        return verified / rep["total"], f"{verified}/{rep['total']}", f"{source} -> {target}: {verified} of " \
            f"{rep['total']} models verified"

    picture = svg(list(sources), list(targets), cell, width=80, height=26,
                  title="Verified conversions: models verified of those tried, per source and target")
    return picture.replace("\n", "")  # one line: Markdown keeps raw HTML whole


def matrix_markdown(folder, frameworks=FRAMEWORKS) -> str:
    """The verified conversion matrix from the committed reports ``folder/SOURCE-to-TARGET.json``.

    One row per source framework, one column per target (``onnx`` first); a cell is the
    count of models verified within tolerance and the worst difference, then how many the
    target cannot express, the source's exporter did not export, or failed by a converter
    bug (``classify``; each model's reason is in its pair's table), or "pending" when
    no report exists yet. Then one table per report with every model.
    """
    folder = Path(folder)
    reports = {}
    for path in sorted(folder.glob("*-to-*.json")):
        source, _, target = path.stem.partition("-to-")
        reports[(source, target)] = json.loads(path.read_text(encoding="utf-8"))
    targets = ["onnx", *frameworks]
    lines = [_matrix_heatmap(reports, frameworks, targets), "",
             "| from \\ to | " + " | ".join(f"**{t}**" for t in targets) + " |",
             "|---|" + "---|" * len(targets)]
    for source in frameworks:
        cells = []
        for target in targets:
            rep = reports.get((source, target))
            if rep is None:
                cells.append("pending")
                continue
            diffs = [d for m in rep["models"] for d in (m.get("differences") or ())]
            worst = max((d["max_abs"] for d in diffs if d.get("max_abs") is not None), default=None)
            verified = sum(m["status"] == "ok" for m in rep["models"]) if rep["verify"] else 0
            reasons = {}
            for m in rep["models"]:
                reason = classify(m)
                if reason:
                    short = ("not expressible by the target" if reason.startswith("target") else
                             "not exported" if reason.startswith("source") else "converter bug")
                    reasons[short] = reasons.get(short, 0) + 1
            cells.append(f"{verified}/{rep['total']} verified" + (f", max abs {worst:.1e}" if worst is not None else "")
                         + "".join(f"; {n} {r}" for r, n in sorted(reasons.items())))
        lines.append(f"| **{source}** | " + " | ".join(cells) + " |")
    for (source, target), rep in sorted(reports.items()):
        judge = "ONNX Runtime" if target == "onnx" else target
        lines += ["", f"### {source} → {target}", "",
                  f"{rep.get('family', '')}: source files run by real {source}, converted files by {judge}, "
                  f"same seeded inputs (seed {rep['seed']}), rtol {rep['rtol']}, atol {rep['atol']}.", "",
                  "| model | status | max abs diff | max rel diff | seconds | reason, error or note |",
                  "|---|---|---|---|---|---|"]
        for m in rep["models"]:
            diffs = m.get("differences") or []
            abs_ = max((d["max_abs"] for d in diffs if d.get("max_abs") is not None), default=None)
            rel = max((d["max_rel"] for d in diffs if d.get("max_rel") is not None), default=None)
            reason = classify(m)
            text = (f"**{reason.split(':')[0]}**: " if reason else "") + (m.get("error") or notes(diffs))
            lines.append(f"| {m['name']} | {m['status']} | {_num(abs_)} | {_num(rel)} | {_num(m.get('seconds'))} | "
                         f"{text.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"
