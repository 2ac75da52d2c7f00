"""Every check a developer or CI runs: ``nox`` runs the CI set, ``nox -s NAME`` one of them.

Sessions install the repository's own distributions (``core/`` and every folder under
``plugins/``) from their folders, exactly as a user would.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").exists())
# Pass-rate floors for `onnxhub test-backend`, per backend (measured, see docs/conformance/).
CONFORMANCE = {"reference": 0.98, "onnxruntime": 0.83}

nox.options.sessions = ["lint", "tests", "conformance"]
nox.options.reuse_venv = "yes"


def install_project(session) -> None:
    session.install("./core[test]", *[str(p) for p in PLUGINS])


@nox.session(python="3.11")
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "core", "plugins", "benchmarks", "noxfile.py")


@nox.session(python=["3.11", "3.13"])
def tests(session):
    install_project(session)
    env = {"ONNXHUB_HOME": os.environ.get("ONNXHUB_HOME", str(ROOT / ".onnxhub-home"))}
    for dist in [ROOT / "core", *PLUGINS]:
        if (dist / "tests").is_dir():
            session.run("pytest", "-q", "-p", "no:cacheprovider", str(dist / "tests"), *session.posargs, env=env)


@nox.session(python="3.11")
def conformance(session):
    install_project(session)
    out = ROOT / "build" / "conformance"
    out.mkdir(parents=True, exist_ok=True)
    for backend, floor in CONFORMANCE.items():
        session.run("onnxhub", "test-backend", backend, "--min-pass", str(floor), "--force",
                    "--report", str(out / f"{backend}.json"))


@nox.session(python="3.11")
def bench(session):
    install_project(session)
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        session.run("python", str(script))
