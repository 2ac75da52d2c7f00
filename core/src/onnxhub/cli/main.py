"""Argument parsing and error handling for ``onnxhub``.

Building the parser imports nothing heavy, so ``--help`` and the listings stay fast;
each command's implementation in ``commands.py`` imports onnx/numpy when it runs.
"""

from __future__ import annotations

import argparse
import errno
import keyword
import os
import signal
import sys
import threading
import warnings

from .. import __version__
from ..conversion import ATOL, RTOL
from ..errors import OnnxHubError

# The one list of exit codes: ``--help`` shows it, and docs/cli.md carries the same sentence
# (core/tests/cli/test_commands.py checks they agree).
EXIT_CODES = (
    (0, "success"),
    (1, "a check failed (verify mismatch, pass rate below --min-pass, doctor found a problem)"),
    (2, "bad input or usage (one line on stderr: onnxhub: error: ...)"),
    (3, "internal error (--debug shows the traceback)"),
    (130, "Ctrl-C"),
    (143, "SIGTERM (staged output removed)"),
)


def exit_codes_sentence() -> str:
    """``Exit codes: 0 success; 1 ...; 143 ...`` on one line."""
    return "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES) + "."


def _epilog() -> str:
    import textwrap

    return (textwrap.fill(exit_codes_sentence(), width=90) + "\n"
            "Environment: ONNXHUB_PLUGINS=a,b loads only those plugins (empty: built-ins only);\n"
            "ONNXHUB_HOME holds runtimes.")


EPILOG = _epilog()


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=24, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onnxhub",
        description="Import, export, convert and run ONNX models across frameworks and backends, "
        "through plugins found at run time.",
        epilog=EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"onnxhub {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, help, description=None, examples=None):
        text = (description or help) + (f"\n\nexamples:\n{examples}" if examples else "")
        p = sub.add_parser(name, help=help, description=text, formatter_class=_formatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
        func = name.replace("-", "_")
        p.set_defaults(func=func + "_" if keyword.iskeyword(func) else func)  # "import" -> import_()
        return p

    for name, what in (
        ("list-backends", "execution backends, their devices and whether they are ready"),
        ("list-importers", "importers (ONNX -> framework files)"),
        ("list-exporters", "exporters (framework files -> ONNX)"),
        ("plugins", "installed plugins, their hooks, and the error of any broken one"),
    ):
        p = command(name, f"list {what}")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command(
        "run",
        "run a model on a backend and summarize its outputs",
        examples="  onnxhub run model.onnx --random-inputs --dim N=8\n"
        "  onnxhub run model.onnx -i x=x.npy --backend reference -o out.npz",
    )
    _add_model_inputs(p)
    p.add_argument("--backend", help="backend name (default: the best ready one, see list-backends)")
    p.add_argument("--device", default="cpu", help="device: cpu, cuda, ... (default: cpu)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="backend option for prepare()")
    p.add_argument("-o", "--output", metavar="OUT.npz", help="write the outputs to this .npz file")
    p.add_argument("--force", action="store_true", help="overwrite an existing regular file (never an input, a device or a link)")
    p.add_argument("--json", action="store_true", help="print the output summary as JSON")

    p = command(
        "verify",
        "run the same inputs on several backends and compare outputs",
        examples="  onnxhub verify model.onnx --backends reference,onnxruntime --random-inputs",
    )
    _add_model_inputs(p)
    p.add_argument("--backends", required=True, help="comma-separated backends; the first is the baseline")
    p.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance (default {RTOL:g})")
    p.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance (default {ATOL:g})")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")

    p = command("import", "convert an ONNX model into a framework's own files",
                examples="  onnxhub import model.onnx --to mxnet -o model_mxnet/\n"
                "  onnxhub import model.onnx --to cntk -o model_cntk/ --verify   # ONNX Runtime vs real CNTK")
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("--to", required=True, metavar="FRAMEWORK", help="importer name (see list-importers)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")
    _add_converter_options(p, "importer")
    p.add_argument("--verify", action="store_true", help="run the model on ONNX Runtime and the written files on "
                   "the real framework and compare the outputs, as convert --verify does; exit 1 beyond tolerance")
    p.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance of --verify (default {RTOL:g})")
    p.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance of --verify (default {ATOL:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of --verify's random inputs (default 0)")
    p.add_argument("--json", action="store_true", help="with --verify: print the result as JSON")
    p.add_argument("--force", action="store_true", help="replace onnxhub's own earlier output of this kind "
                   "(a folder holding anything else is never touched)")

    p = command("export", "convert a framework's files into an ONNX model",
                examples="  onnxhub export resnet-symbol.json resnet-0000.params -o resnet.onnx")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--from", dest="source", metavar="FRAMEWORK", help="exporter name (default: guessed from file names)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset to write (default 17)")
    _add_converter_options(p, "exporter")
    p.add_argument("--static-batch", action="store_true",
                   help="keep the first input dimension fixed instead of a dynamic 'batch'")
    p.add_argument("--force", action="store_true", help="overwrite an existing regular file (never an input, a device or a link)")

    p = command(
        "convert", "export from framework A, then import into framework B (one model or an inventory)",
        description="Export with A's exporter, then import with B's importer (--to onnx stops after the export). "
        "FILE may be one model's files, several models' files, folders or globs: each model found (by A's file "
        "patterns) is converted into its own sub-folder of DIR by worker processes, with a report "
        "(DIR/report.json, DIR/report.md); a later run skips the models already converted. --verify runs the "
        "source files on real A and the written files on real B (ONNX Runtime for --to onnx) on the same seeded "
        "inputs and compares every output.",
        examples="  onnxhub convert resnet-symbol.json resnet-0000.params --from mxnet --to mxnet -o out/ --verify\n"
        "  onnxhub convert zoo/ --from mxnet --to onnx -o converted/ -j 4 --verify\n"
        "  onnxhub convert 'zoo/**/*-symbol.json' --from mxnet --to onnx -o converted/ --executor dask "
        "--scheduler tcp://10.0.0.5:8786")
    p.add_argument("files", nargs="+", metavar="FILE", help="model files, folders or globs ('zoo/**/*.json')")
    p.add_argument("--from", dest="source", required=True, metavar="A",
                   help="exporter name (see list-exporters), or onnx to start from .onnx files")
    p.add_argument("--to", dest="target", required=True, metavar="B",
                   help="importer name (see list-importers), or onnx to stop after the export")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write (one sub-folder per model "
                   "for an inventory)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset of the export (default 17)")
    _add_converter_options(p, "exporter")
    p.add_argument("--static-batch", action="store_true",
                   help="keep the first input dimension fixed instead of a dynamic 'batch'")
    p.add_argument("--verify", action="store_true", help="run the source on real A and the result on real B "
                   "(ONNX Runtime for --to onnx) and compare the outputs; exit 1 beyond tolerance")
    p.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance of --verify (default {RTOL:g})")
    p.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance of --verify (default {ATOL:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of --verify's random inputs (default 0)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="models converted at once, each in a worker process "
                   "(inventories; default 1)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where an inventory's models are converted: local worker processes, or a Dask cluster "
                   "(pip install 'onnxhub[dask]'; default local)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="with --executor dask: a running Dask scheduler "
                   "(tcp://host:8786); default: start a local cluster of -j worker processes")
    p.add_argument("--json", action="store_true", help="print the result (or the inventory report) as JSON")
    p.add_argument("--force", action="store_true", help="replace onnxhub's own earlier import to B "
                   "(a folder holding anything else is never touched); in an inventory, convert again the "
                   "models an earlier run finished")

    p = command(
        "test-backend",
        "run ONNX's backend conformance suite against a backend",
        description="Run every case of the ONNX backend test suite shipped with the installed onnx "
        "(node, real, simple, pytorch-converted, pytorch-operator) on one device. Each case runs in a "
        "worker process; a case that crashes or hangs its worker is a failure. Skipped cases are not passes.",
        examples="  onnxhub test-backend reference -j 2 --report report.md\n"
        "  onnxhub test-backend onnxruntime -k 'test_conv' --min-pass 0.8",
    )
    p.add_argument("backend", metavar="NAME", help="a registered backend, or module:Attribute of any ONNX backend "
                   "(e.g. onnxruntime.backend: to measure ONNX Runtime's own)")
    p.add_argument("-k", dest="pattern", metavar="REGEX", help="only cases whose name matches (re.search)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPUs)")
    p.add_argument("--device", default="cpu", help="device to test (default: cpu)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a case may run before it fails (default "
                   "300); a worker's start-up has its own limit, max(600, TIMEOUT)")
    p.add_argument("--min-pass", type=float, metavar="RATE", help="exit 1 when the pass rate is below RATE (0-1)")
    p.add_argument("--report", metavar="FILE", help="write a report: .json, .md or .html")
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout")
    p.add_argument("--force", action="store_true", help="overwrite an existing report file")

    p = command("runtime", "manage isolated framework runtimes (list, install, remove)")
    rsub = p.add_subparsers(dest="runtime_command", metavar="ACTION", required=True)
    rp = rsub.add_parser("list", help="registered runtimes and whether they are installed")
    rp.add_argument("--json", action="store_true")
    rp = rsub.add_parser(
        "install", help="build a runtime's managed environment", formatter_class=_formatter,
        description="Build runtime NAME's virtual environment under $ONNXHUB_HOME/runtimes/NAME: find a matching "
        "Python, check the system libraries, then download the plugin's pinned packages from PyPI with pip (its "
        "progress shows on a terminal; piped output stays quiet) and record the install. The first line says what "
        "will be downloaded. Interrupted or failed, nothing is left marked installed.")
    rp.format_help = lambda _p=rp: argparse.ArgumentParser.format_help(_p) + _runtimes_help()
    rp.add_argument("name", help="the runtime (listed below; onnxhub runtime list shows which are installed)")
    rp.add_argument("--python", metavar="PATH", help="interpreter to build it with")
    rp.add_argument("--force", action="store_true", help="rebuild even if installed")
    rp = rsub.add_parser("remove", help="delete a runtime's environment")
    rp.add_argument("name")

    p = command("doctor", "check the installation: plugins, backends, runtimes, versions",
                description="Check the installation: versions, plugins, every adapter (its target is imported), "
                "runtimes. Exit 1 on a problem: a broken plugin, adapter or runtime, or a plugin module that imports "
                "something heavy. A runtime that is not installed is not a problem (it is an optional download): "
                "the summary names it with the command that installs it, and the exit code stays 0.")
    p.add_argument("--json", action="store_true", help="print the checks as one JSON object")

    p = command("new-plugin", "write a new plugin project (backend, importer or exporter) to start from",
                description="Write a working plugin project: pyproject.toml with the onnxhub entry point, the "
                "import-light plugin module, an operator-table skeleton, tests (a backend's run the ONNX "
                "conformance suite through onnxhub's pytest plugin) and a README. `pip install` it and onnxhub "
                "discovers it at once.",
                examples="  onnxhub new-plugin acme-backend --kind backend\n  pip install -e ./onnxhub-acme-backend[test]\n"
                "  onnxhub new-plugin acme-io --kind importer,exporter\n  onnxhub list-backends")
    p.add_argument("name", help="plugin name: lower-case letters and digits, words joined by '-' or '_' "
                   "(acme-backend: distribution onnxhub-acme-backend, module onnxhub_acme_backend)")
    p.add_argument("--kind", default="backend", metavar="KIND[,KIND...]",
                   help="backend, importer, exporter, or several comma-separated in one plugin "
                   "(e.g. importer,exporter); default: backend")
    p.add_argument("-o", "--output", metavar="DIR", help="project folder (default: ./onnxhub-NAME)")
    p.add_argument("--force", action="store_true", help="replace onnxhub's own earlier output of this kind "
                   "(a folder holding anything else is never touched)")
    return parser


def _runtimes_help() -> str:
    """The registered runtimes and what each install costs, read when ``runtime install --help``
    is shown (not when the parser is built: every other command stays free of discovery)."""
    import textwrap

    try:
        from ..registry import get_registry

        specs = [item.spec for _, item in sorted(get_registry().items["runtime"].items())]
    except Exception as exc:  # help must show whatever a broken plugin does
        return f"\nruntimes: cannot list them ({type(exc).__name__}; see onnxhub plugins)\n"
    if not specs:
        return "\nruntimes: no installed plugin registers one\n"
    lines = ["", "runtimes (what each install downloads, as its plugin states it):"]
    for spec in specs:
        text = f"{spec.name} (Python {spec.python}): {', '.join(spec.requirements) or 'no packages'}" + \
            (f"; {spec.download}" if spec.download else "")
        lines += textwrap.wrap(text, width=98, initial_indent="  ", subsequent_indent="      ")
    return "\n".join(lines) + "\n"


def _add_converter_options(p, who: str) -> None:
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1,3,224,224",
                   help="shape of a model input: for formats that do not record it, or to fix free dims (repeatable)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help=f"any other {who} option (JSON values: 3, true, \"text\"; see the {who}'s docs; repeatable)")


def _add_model_inputs(p) -> None:
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("-i", "--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="an input array; or FILE.npz with arrays named like the inputs (repeatable)")
    p.add_argument("--random-inputs", action="store_true", help="make inputs from the model's types and shapes")
    p.add_argument("--seed", type=int, default=0, help="seed for --random-inputs (default 0)")
    p.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE",
                   help="value of a dynamic dimension for --random-inputs (repeatable)")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so every ``finally`` removes its staging files.

    A ``KeyboardInterrupt`` so code that lets Ctrl-C through lets this through too.
    """


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
    raise Terminated()


def main(argv=None) -> int:
    """Run one command; SIGTERM is handled like Ctrl-C (clean up, exit 143) while it runs."""
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv)
    except Terminated:  # arrived outside _main's handlers (parsing, printing the error)
        return 128 + signal.SIGTERM
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _UsageError(Exception):
    """argparse found a usage error (the one line to print)."""


def _one_line_usage_errors(parser) -> None:
    """Usage errors are one line, ``onnxhub: error: ...`` (exit 2) like every other bad input;
    ``--help`` still shows the full usage. Applies to every subparser."""
    def fail(message, _p=parser):
        raise _UsageError(f"{message} (see: {_p.prog} --help)")

    parser.error = fail
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _one_line_usage_errors(sub)


def _main(argv=None) -> int:
    parser = build_parser()
    _one_line_usage_errors(parser)
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        sys.stderr.write(f"onnxhub: error: {str(exc).splitlines()[0] if str(exc) else 'bad usage'}\n")
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from . import commands, output
    from .output import error

    debug_env = os.environ.get("ONNXHUB_DEBUG")
    if args.debug:  # plugins that silence their framework's own logging keep it on with --debug
        os.environ["ONNXHUB_DEBUG"] = "1"
    output.deferred_notes = []
    showwarning = warnings.showwarning
    if not args.debug:  # a library's warning (numpy's casts...) is a note: shown only when the command succeeds
        warnings.showwarning = _warning_as_note
    try:
        code = getattr(commands, args.func)(args) or 0
        if code in (0, 1):
            for text in output.deferred_notes:
                sys.stderr.write(text + "\n")
        return code
    except OnnxHubError as exc:
        if args.debug:
            raise
        error(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return exc.exit_code
    except Terminated:
        error("terminated")
        return 128 + signal.SIGTERM  # 143
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.errno in USER_OS_ERRORS:  # the user's path or disk, not a bug
            where = f"{str(exc.filename)[:200]}: " if exc.filename else ""
            error(f"{where}{exc.strerror or type(exc).__name__}")
            return 2
        error(f"internal error: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''} "
              "(run with --debug for the traceback)")
        return 3
    finally:
        output.deferred_notes = None
        warnings.showwarning = showwarning
        if debug_env is None:  # as it was: one in-process call's --debug is not the next one's
            os.environ.pop("ONNXHUB_DEBUG", None)


# OS errors that name a problem with what the user gave (a path too long, a link loop, no permission,
# a full or read-only disk): one line and exit 2 wherever they surface, not an "internal error".
USER_OS_ERRORS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS,
                            errno.EDQUOT, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EMFILE})


def _warning_as_note(message, category, filename, lineno, file=None, line=None):
    from . import output

    text = str(message).strip().splitlines()[0] if str(message).strip() else ""
    output.note(f"warning: {category.__name__}: {text}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
