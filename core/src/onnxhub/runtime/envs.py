"""Build and remove a runtime's managed virtual environment.

First one line says what will be downloaded (the requirements and the spec's
``download`` cost). Steps of ``install_runtime`` (each shown as it runs):

1. find an interpreter in the spec's range: ``--python``, then ``pythonX.Y`` on PATH,
   then pyenv's versions;
2. check the system libraries the spec names, before any download;
3. create the venv, upgrade pip inside it (old pips cannot read newer wheels);
4. install every requirement in one resolver call, constrained to the same pins, so
   nothing can drag numpy 2 in behind a legacy framework (on a terminal pip shows its
   own download progress; piped or logged, it stays quiet);
5. run the plugin's fix-ups, then write the marker. The marker is written last: an
   install that failed anywhere is removed, and is never reported as installed; with
   ``--force`` the previous install is put back when the rebuild fails.

One install or remove of a runtime at a time per home (``runtime_lock``): a second waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import OnnxHubError, UsageError
from ..home import RUNTIME_MARKER, runtime_dir, runtime_installed, runtime_interpreter_problem
from ..specs import RuntimeSpec, load_target

_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


class InstallFailed(OnnxHubError):
    """A step of a runtime install failed; nothing is left marked installed."""


# -- interpreter discovery ---------------------------------------------------------
def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def version_matches(version: str, specifier: str) -> bool:
    """``"3.6.15"`` against ``">=3.6,<3.7"`` (the subset of PEP 440 runtimes use)."""
    have = _version_tuple(version)
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        m = _CLAUSE.match(clause)
        if not m:
            raise UsageError(f"cannot read Python version specifier {clause!r}")
        op, want_text, star = m.groups()
        want = _version_tuple(want_text)
        head = have[: len(want)]
        if star:
            ok = (head == want) if op == "==" else (head != want) if op == "!=" else False
        else:
            width = max(len(have), len(want))
            a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
            ok = {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b, "!=": a != b}[op]
        if not ok:
            return False
    return True


def probe_version(python: str) -> str | None:
    """The interpreter's ``X.Y.Z``, or None when it does not run."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def candidates() -> list[str]:
    """Interpreters to try, in order: ``pythonX.Y`` on PATH, then pyenv's versions."""
    found = []
    for minor in range(14, 4, -1):
        exe = shutil.which(f"python3.{minor}")
        if exe:
            found.append(exe)
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found += sorted(glob.glob(f"{root}/versions/*/bin/python3"), reverse=True)
    return found


def find_interpreter(spec: RuntimeSpec, explicit: str | None = None) -> tuple[str, str]:
    """``(path, version)`` of an interpreter in ``spec.python``; a one-line error when none fits."""
    if explicit:
        version = probe_version(explicit)
        if version is None:
            raise UsageError(f"--python {explicit}: does not run")
        if not version_matches(version, spec.python):
            raise UsageError(f"--python {explicit} is Python {version}; runtime {spec.name!r} needs {spec.python}")
        return explicit, version
    tried = []
    for exe in candidates():
        version = probe_version(exe)
        if version is None:
            continue
        tried.append(version)
        if version_matches(version, spec.python):
            return exe, version
    lowest = re.search(r">=\s*(\d+\.\d+)", spec.python)
    hint = f"pyenv install {lowest.group(1)}" if lowest else "install a matching CPython"
    raise UsageError(f"runtime {spec.name!r} needs Python {spec.python}; none found on PATH or in pyenv "
                     f"(found: {', '.join(sorted(set(tried))) or 'none'}); get one with `{hint}` or pass --python PATH")


# -- system libraries ----------------------------------------------------------------
_LIB_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/lib/x86_64-linux-gnu",
             "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")


def find_shared_library(soname: str) -> str | None:
    for folder in _LIB_DIRS:
        path = os.path.join(folder, soname)
        if os.path.exists(path):
            return path
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.strip().startswith(soname + " "):
            return line.rsplit("=>", 1)[-1].strip()
    return None


def missing_libraries(spec: RuntimeSpec) -> list[tuple[str, str]]:
    return [(so, hint) for so, hint in spec.system_libs if find_shared_library(so) is None]


# -- install / remove ------------------------------------------------------------------
class _Steps:
    """Numbered step lines on stderr, with a rich spinner on a terminal."""

    def __init__(self, name: str, total: int):
        self.name, self.total, self.n = name, total, 0
        self.status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self.status = Console(stderr=True).status("")
            self.status.start()

    def step(self, text: str) -> None:
        self.n += 1
        line = f"[{self.n}/{self.total}] {self.name}: {text}"
        if self.status:
            self.status.update(line)
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.status:
            self.status.stop()
            self.status = None  # the step lines go on as plain lines


def _run_shown(argv, what: str, env=None) -> None:
    """Run pip with its own output, progress bars included, on the terminal (stderr).

    Used only when stderr is a terminal: a large download is then never a silent wait.
    pip's stdout goes to stderr too, so the command's stdout stays its result line; pip
    draws its bars only when that stream is a terminal, which is why it is not piped.
    """
    proc = subprocess.run(argv, stdout=sys.stderr.fileno(), env=env)
    if proc.returncode != 0:
        raise InstallFailed(f"{what} failed: exit code {proc.returncode} (pip's messages are above)")


def describe_install(spec: RuntimeSpec) -> str:
    """One line: what ``runtime install`` of ``spec`` downloads, and its stated cost."""
    what = ", ".join(spec.requirements) or "no packages"
    return f"{what} from PyPI" + (f" ({spec.download})" if spec.download else "")


def _run(argv, what: str, env=None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise InstallFailed(f"{what} failed: {lines[-1] if lines else f'exit code {proc.returncode}'}")
    return proc.stdout


# The newest pip each old interpreter can run. Indexes that omit Requires-Python
# metadata would otherwise hand an old pip a release it cannot even import.
_PIP_CAPS = {(3, 6): "pip<22", (3, 7): "pip<24.1", (3, 8): "pip<25.1"}


def _pip_for(version: str) -> str:
    return _PIP_CAPS.get(_version_tuple(version)[:2], "pip")


@contextlib.contextmanager
def runtime_lock(name: str):
    """Hold ``$ONNXHUB_HOME/runtimes/.NAME.lock`` (fcntl) while a runtime is built or removed.

    A second install (or remove) of the same runtime on the same home waits for the first,
    saying so once on stderr, then goes on: it finds the first one's result.
    """
    folder = runtime_dir(name).parent
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            sys.stderr.write(f"runtime {name}: waiting for another install or remove of it to finish "
                             f"(pid {holder})\n")
            sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _aside_name(name: str) -> str:
    return f".{name}.onnxhub-{os.getpid()}-old"


def _restore_stale_aside(name: str) -> None:
    """A rebuild killed mid-way left the old runtime aside and no new one: put it back."""
    target = runtime_dir(name)
    for aside in target.parent.glob(f".{name}.onnxhub-*-old"):
        pid = aside.name[len(name) + len(".onnxhub-") + 1:].split("-", 1)[0]
        if pid.isdigit() and _pid_alive(int(pid)):
            continue
        if not runtime_installed(name) and (aside / RUNTIME_MARKER).is_file():
            if target.exists():
                shutil.rmtree(target)  # the half-built replacement
            aside.rename(target)
        else:
            shutil.rmtree(aside, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def install_runtime(spec: RuntimeSpec, python: str | None = None, force: bool = False) -> Path:
    """Build the runtime; with ``force``, an existing one is kept until the new one is complete.

    The old environment is moved aside (``.NAME.onnxhub-PID-old``, same folder: venvs hold
    absolute paths, so the new one is built at its final path), and put back if any step fails
    or is interrupted; it is removed only once the new one carries its marker.
    """
    with runtime_lock(spec.name):
        _restore_stale_aside(spec.name)
        return _install_locked(spec, python, force)


def _install_locked(spec: RuntimeSpec, python: str | None, force: bool) -> Path:
    target = runtime_dir(spec.name)
    if runtime_installed(spec.name) and not force and not runtime_interpreter_problem(spec.name):
        sys.stderr.write(f"runtime {spec.name} is already installed in {target} (use --force to rebuild)\n")
        return target
    # Said before anything runs: the user learns the cost (some runtimes are a 900 MB download)
    # while Ctrl-C still costs nothing.
    sys.stderr.write(f"runtime {spec.name}: installs {describe_install(spec)}\n")
    sys.stderr.flush()
    steps = _Steps(spec.name, 6)
    try:
        steps.step(f"finding Python {spec.python}")
        exe, version = find_interpreter(spec, python)
        steps.step("checking system libraries")
        missing = missing_libraries(spec)
        if missing:
            raise UsageError(f"runtime {spec.name!r} needs system librar{'y' if len(missing) == 1 else 'ies'} "
                             + "; ".join(f"{so} ({hint})" for so, hint in missing))
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = None
        if target.exists():
            if runtime_installed(spec.name):
                aside = target.parent / _aside_name(spec.name)
                target.rename(aside)  # kept until the new one is complete
            else:
                shutil.rmtree(target)  # a half-built one: nothing worth keeping
        started = time.monotonic()
        try:
            steps.step(f"creating a virtual environment with Python {version} ({exe})")
            _run([exe, "-m", "venv", str(target)], "creating the virtual environment")
            py = str(target / "bin" / "python")
            pip = [py, "-m", "pip", "--disable-pip-version-check", "--no-input"]
            env = dict(os.environ, PIP_NO_WARN_SCRIPT_LOCATION="1")
            steps.step("upgrading pip inside it")
            _run(pip + ["install", "-q", "--upgrade", _pip_for(version)], "upgrading pip", env)
            cost = f"; {spec.download}" if spec.download else ""
            steps.step(f"downloading and installing {', '.join(spec.requirements) or 'nothing'} "
                       f"(one resolver call{cost})")
            if spec.requirements:
                reqs = target / "onnxhub-requirements.txt"
                reqs.write_text("\n".join(spec.requirements) + "\n")
                shown = sys.stderr.isatty()  # pip's own progress on a terminal; quiet in logs and pipes
                argv = pip + ["install"] + ([] if shown else ["-q"]) + ["-r", str(reqs), "-c", str(reqs)]
                if shown:
                    steps.close()  # a spinner would draw over pip's bars
                    _run_shown(argv, "installing requirements", env)
                else:
                    _run(argv, "installing requirements", env)
            steps.step("running fix-ups and recording the install")
            if spec.fixups:
                load_target(spec.fixups)(target, py)
            packages = [ln for ln in _run(pip + ["freeze"], "listing packages").splitlines() if ln.strip()]
            marker = {"name": spec.name, "python": version, "interpreter": exe, "packages": packages,
                      "seconds": round(time.monotonic() - started, 1)}
            (target / RUNTIME_MARKER).write_text(json.dumps(marker, indent=1))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)  # never leave a half-built runtime behind
            if aside is not None:
                aside.rename(target)
                sys.stderr.write(f"runtime {spec.name}: the rebuild failed; the previous install is kept\n")
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    finally:
        steps.close()
    return target
