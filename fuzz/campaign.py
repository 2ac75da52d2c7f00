"""onnxhub's fuzzing harness: seeded mutants of every input format, run through the real CLI.

Design
------
* **Seeds** (``seeds.py``) are small valid inputs built in code: six ONNX models (conv,
  MLP, shape ops, gather/slice, generators, pad/split/resize), MXNet symbol JSON +
  ``.params`` written from them by the MXNet importer, and the Caffe2 NetDef and CNTK
  ``.model`` fixtures of those plugins' tests (``netdef_bytes.py``, ``model_bytes.py``).
* **Mutators** (``mutate.py``, stdlib ``random`` only) make byte mutants of any file
  (flips, truncation, insertion, unterminated varints) and structure mutants: ONNX through
  the protobuf API (dims, ranks, dtypes, op types, attributes, node inputs/outputs, opset,
  IR version, initializer data, external data) and MXNet symbols as JSON (nodes that are
  not objects, ``attrs`` of the wrong type, ``inf``/``nan``/huge attribute values, malformed
  inputs and heads, ``mxnet_version``, nesting 10^5 deep) plus header-aimed ``.params``
  mutants (dims whose product wraps int64). Mutant ``i`` of target ``T`` under seed ``S``
  comes from ``random.Random(f"{S}:{T}:{i}")``: any mutant is reproduced from its numbers.
* **Targets**: ``onnx`` (``run model.onnx --random-inputs -o out.npz`` on the reference
  backend and, every other mutant, onnxruntime), ``mxnet``, ``caffe2``, ``cntk``
  (``export ... -o out.onnx``), ``import`` (ONNX mutants into MXNet), ``verify`` (ONNX
  mutants on reference vs onnxruntime), ``convert`` (MXNet mutants, one model, ``-o out``)
  and ``inventory`` (the same as a folder, ``convert . -o out``; each run starts a worker
  process, so it takes ``SHARE`` of ``--count``).
* **Execution**: mutants run in-process in one long-lived child (``worker.py``) under an
  ``RLIMIT_AS`` address-space limit, each in its own fresh folder, with file descriptors 1
  and 2 captured (so ONNX Runtime's C++ log lines are seen). A child that dies or exceeds
  the per-mutant timeout is a failure of that mutant; a fresh child takes over.
* **Invariant** per mutant: exit code 0, 1 or 2; no ``Traceback`` on stderr; on exit 2,
  stderr is exactly one line ``onnxhub: error: ...``; the folder holds exactly the input
  files (unchanged) plus, on exit 0 only, the output file - nothing at the target or beside
  it; nothing escapes ``main``; the child's peak RSS stays under the limit.
* **Corpus**: ``--save`` copies every failing mutant to ``fuzz/corpus/TARGET/NAME/`` with a
  ``case.json`` (argv, what was mutated, what failed, ``expect_exit``).
  ``core/tests/test_fuzz_corpus.py`` replays each case with pytest and checks the same
  invariant (and ``expect_exit`` once set by ``--replay --update`` after the fix).

Usage: ``python -m fuzz.campaign [--targets onnx,mxnet,caffe2,cntk] [--count N] [--seed S]
[--save] [--report FILE.json] [--memory-mb M] [--timeout S]``; ``--replay [--update]`` runs
the corpus instead. Exit 1 when any mutant broke the invariant. ``nox -s fuzz`` (short) and
``nox -s fuzz_long`` run it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
TARGETS = ("onnx", "mxnet", "caffe2", "cntk", "import", "convert", "inventory", "verify")
# An inventory starts a worker process per run (a second or so): it gets this share of --count.
SHARE = {"inventory": 0.02}
OUTPUTS = ("out.npz", "out.onnx", "out")


# -- the child ------------------------------------------------------------------------------
class Child:
    """The worker process; restarted after a death or a hang."""

    def __init__(self, memory_mb: int, log: Path):
        self.memory_mb, self.log, self.proc = memory_mb, log, None

    def start(self) -> None:
        # MALLOC_ARENA_MAX: glibc reserves 64 MiB of address space per thread's arena, which on a
        # many-core machine eats the child's RLIMIT_AS before any mutant allocates a byte.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                   OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1", MALLOC_ARENA_MAX="2")
        self.proc = subprocess.Popen([sys.executable, "-m", "fuzz.worker", str(self.memory_mb)], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.log, "ab"),
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"fuzz worker did not start; see {self.log}")

    def run(self, job: dict, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return {"code": None, "died": f"hang (> {timeout:.0f} s)"}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            return {"code": None, "died": f"worker died (returncode {code})"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


# -- mutants ----------------------------------------------------------------------------------
def load_seeds(targets) -> dict[str, list]:
    from . import seeds

    loaders = {"onnx": seeds.onnx_seeds, "mxnet": seeds.mxnet_seeds, "caffe2": seeds.caffe2_seeds,
               "cntk": seeds.cntk_seeds, "import": seeds.import_seeds, "convert": seeds.convert_seeds,
               "inventory": seeds.inventory_seeds, "verify": seeds.verify_seeds}
    out = {}
    for target in targets:
        try:
            out[target] = loaders[target]()
        except ImportError as exc:  # the plugin is not installed: its target is skipped, and said so
            print(f"fuzz: target {target} skipped ({exc})", file=sys.stderr)
    return out


def make_mutant(target: str, seed_list: list, index: int, seed: int):
    """``(seed, files, argv, description)`` for mutant ``index``: the same numbers give the same mutant."""
    from . import mutate

    rng = random.Random(f"{seed}:{target}:{index}")
    s = seed_list[rng.randrange(len(seed_list))]
    files = dict(s.files)
    argv = list(s.argv)
    if target in ("onnx", "import", "verify"):
        argv = [a.replace("{backend}", "onnxruntime" if index % 2 else "reference") for a in argv]
        files["model.onnx"], what = mutate.mutate_onnx(rng, s.extra["model"])
    elif target in ("mxnet", "convert", "inventory"):
        r = rng.random()
        whats = []
        if r < 0.55 or r >= 0.9:
            files["m-symbol.json"], w = mutate.mutate_symbol(rng, s.extra["symbol"])
            whats.append(w)
        if r >= 0.55:
            files["m-0000.params"], w = mutate.mutate_params(rng, files["m-0000.params"])
            whats.append(w)
        what = " + ".join(whats)
    else:
        name = rng.choice(sorted(files))
        files[name], what = mutate.mutate_bytes(rng, files[name])
        what = f"{name} {what}"
    return s, files, argv, what


# -- checking one mutant -----------------------------------------------------------------------
def check(result: dict, folder: Path, files: dict, capture: Path, limit_kb: int) -> tuple[list[str], str]:
    """``(failures, stderr)`` for one finished mutant."""
    failures = []
    err = _read(capture.with_suffix(".err")) if result.get("code") is not None else ""
    code = result.get("code")
    if result.get("died"):
        failures.append(result["died"])
    elif code not in (0, 1, 2):
        failures.append(f"exit {code}")
    if result.get("escaped"):
        failures.append(f"{result['escaped']} escaped main()")
    if "Traceback (most recent call last)" in err:
        failures.append("traceback")
    if code == 2:
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("onnxhub: error: "):
            failures.append(f"exit 2 with {len(lines)} stderr lines")
    present = {p.name for p in folder.iterdir()}
    allowed = set(files) | (set(OUTPUTS) if code in (0, 1) else set())  # exit 1: converted, some check failed
    stray = sorted(present - allowed)
    if stray:
        failures.append(f"stray files {stray[:3]}")
    changed = [n for n, data in files.items() if n not in present or (folder / n).read_bytes() != data]
    if changed:
        failures.append(f"inputs changed {changed}")
    if result.get("maxrss_kb", 0) > limit_kb:
        failures.append(f"peak RSS {result['maxrss_kb'] // 1024} MiB")
    return failures, err


def _error_kind(err: str) -> str:
    """An error line without its particulars (names, numbers, quoted text): what kind of refusal it is."""
    import re

    line = err.strip().splitlines()[0].removeprefix("onnxhub: error: ")
    line = re.sub(r"'[^']*'|\"[^\"]*\"|\d+|\S+\.(onnx|json|params|pb|model)\b", "_", line)
    return line[:90]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def save_case(target: str, name: str, files: dict, argv: list, what: str, failures: list, err: str) -> Path:
    case = CORPUS / target / name
    if case.exists():
        shutil.rmtree(case)
    (case / "files").mkdir(parents=True)
    for fname, data in files.items():
        (case / "files" / fname).write_bytes(data)
    (case / "case.json").write_text(json.dumps({"argv": argv, "what": what, "found": failures,
                                                "stderr": err[-400:], "expect_exit": None}, indent=1) + "\n")
    return case


# -- campaigns ----------------------------------------------------------------------------------
def campaign(args) -> int:
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise SystemExit(f"unknown target(s) {sorted(unknown)}; known: {', '.join(TARGETS)}")
    all_seeds = load_seeds(targets)
    scratch = Path(tempfile.mkdtemp(prefix="onnxhub-fuzz-"))
    child = Child(args.memory_mb, scratch / "worker.log")
    limit_kb = args.memory_mb * 1024
    report = {"seed": args.seed, "count": args.count, "memory_mb": args.memory_mb, "targets": {}}
    started = time.monotonic()
    failed, fail_lines = 0, []
    try:
        for target, seed_list in all_seeds.items():
            t0 = time.monotonic()
            codes, kinds, peak, child_peak, errors = Counter(), Counter(), 0, 0, Counter()
            child.stop()  # a fresh child per target: its peak RSS is this target's
            count = max(1, round(args.count * SHARE.get(target, 1))) if args.count else 0
            for i in range(count):
                s, files, argv, what = make_mutant(target, seed_list, i, args.seed)
                folder = scratch / f"{target}-{i}"
                folder.mkdir()
                for fname, data in files.items():
                    (folder / fname).write_bytes(data)
                capture = scratch / f"capture-{target}-{i}"
                result = child.run({"dir": str(folder), "argv": argv, "capture": str(capture)}, args.timeout)
                failures, err = check(result, folder, files, capture, limit_kb)
                codes[str(result.get("code"))] += 1
                if result.get("code") == 2 and err.strip():
                    errors[_error_kind(err)] += 1
                rss = result.get("maxrss_kb", 0)
                if rss > max(peak, child_peak) + 256 * 1024:  # the child's peak jumped: say which mutant did it
                    print(f"MEMORY {target} #{i} ({s.name}; {what[:100]}): peak RSS {rss // 1024} MiB", flush=True)
                peak, child_peak = max(peak, rss), rss if result.get("code") is not None else 0
                if failures:
                    failed += 1
                    kinds.update(f.split(" [")[0] for f in failures)
                    line = (f"FAIL {target} #{i} ({s.name}; {what[:100]}): {'; '.join(failures)}\n    "
                            f"{err.strip().splitlines()[-1][:300] if err.strip() else ''}")
                    fail_lines.append(line)
                    print(line, flush=True)
                    if args.save:
                        save_case(target, f"{s.name}-s{args.seed}-{i}", files, argv, what, failures, err)
                for p in (capture.with_suffix(".out"), capture.with_suffix(".err")):
                    p.unlink(missing_ok=True)
                shutil.rmtree(folder, ignore_errors=True)
                if args.progress and (i + 1) % args.progress == 0:
                    print(f"{target}: {i + 1}/{args.count} {dict(codes)} {time.monotonic() - t0:.0f} s", flush=True)
            report["targets"][target] = {"mutants": count, "exit_codes": dict(codes), "failures": dict(kinds),
                                         "seconds": round(time.monotonic() - t0, 1),
                                         "top_errors": dict(errors.most_common(args.top_errors)),
                                         "peak_rss_mb": round(peak / 1024, 1)}
    finally:
        child.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["failed"] = failed
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    for line in fail_lines[:20]:  # again after the numbers: the tail of a CI log shows what failed
        print(line, file=sys.stderr)
    if fail_lines:
        print(f"reproduce one: python -m fuzz.campaign --seed {args.seed} --dump TARGET:INDEX DIR", file=sys.stderr)
    return 1 if failed else 0


def cases() -> list[Path]:
    return sorted(p.parent for p in CORPUS.glob("*/*/case.json"))


def replay(args) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="onnxhub-fuzz-replay-"))
    child = Child(args.memory_mb, scratch / "worker.log")
    bad = 0
    try:
        for n, case in enumerate(cases()):
            spec = json.loads((case / "case.json").read_text())
            files = {p.name: p.read_bytes() for p in (case / "files").iterdir()}
            folder = scratch / f"case-{n}"
            shutil.copytree(case / "files", folder)
            capture = scratch / f"capture-{n}"
            result = child.run({"dir": str(folder), "argv": spec["argv"], "capture": str(capture)}, args.timeout)
            failures, err = check(result, folder, files, capture, args.memory_mb * 1024)
            want = spec.get("expect_exit")
            if want is not None and result.get("code") != want:
                failures.append(f"exit {result.get('code')}, expected {want}")
            if args.update and not failures:
                spec["expect_exit"] = result["code"]
                (case / "case.json").write_text(json.dumps(spec, indent=1) + "\n")
            status = "ok" if not failures else "FAIL " + "; ".join(failures)
            bad += bool(failures)
            print(f"{case.relative_to(CORPUS)}: exit {result.get('code')} {status}: "
                  f"{err.strip().splitlines()[-1][:200] if err.strip() else ''}", flush=True)
    finally:
        child.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.campaign", description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    p.add_argument("--count", type=int, default=100, help="mutants per target (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", action="store_true", help="copy failing mutants into fuzz/corpus/")
    p.add_argument("--report", help="write the numbers as JSON here")
    p.add_argument("--memory-mb", type=int, default=3072, help="the child's address-space limit (default 3072)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one mutant may take (default 120)")
    p.add_argument("--top-errors", type=int, default=8, help="how many kinds of exit-2 message to report")
    p.add_argument("--progress", type=int, default=0, help="print a progress line every N mutants")
    p.add_argument("--replay", action="store_true", help="run the corpus instead of new mutants")
    p.add_argument("--update", action="store_true", help="with --replay: record each passing case's exit code")
    p.add_argument("--dump", nargs=2, metavar=("TARGET:INDEX", "DIR"),
                   help="write one mutant's files into DIR and print its command (to reproduce a failure)")
    args = p.parse_args(argv)
    if args.dump:
        target, index = args.dump[0].split(":")
        s, files, argv_, what = make_mutant(target, load_seeds([target])[target], int(index), args.seed)
        folder = Path(args.dump[1])
        folder.mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            (folder / fname).write_bytes(data)
        print(f"{s.name}: {what}\ncd {folder} && onnxhub {' '.join(argv_)}")
        return 0
    return replay(args) if args.replay else campaign(args)


if __name__ == "__main__":
    sys.exit(main())
