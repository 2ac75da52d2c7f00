"""Reading and writing ONNX models safely.

Every path into onnxhub goes through ``load_model``: a missing, truncated or random
file, a model that fails ``onnx.checker``, or external data pointing outside the
model's folder becomes ``InvalidModel`` with a one-line message. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import InvalidModel, UsageError


def _tensors(graph):
    """Every TensorProto in a graph and its subgraphs (where external data may hide)."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def check_external_data(model, base_dir: Path) -> None:
    """Refuse external-data locations outside ``base_dir`` (absolute, ``..``, symlinks)."""
    from onnx import TensorProto

    root = base_dir.resolve()
    for tensor in _tensors(model.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        where = f"tensor {tensor.name!r}: external data location {location!r}"
        if not location:
            raise InvalidModel(f"{where} is empty")
        if "\0" in location:
            raise InvalidModel(f"{where} holds a NUL character")
        if os.path.isabs(location) or Path(location).drive:
            raise InvalidModel(f"{where} is an absolute path; it must be relative to the model's folder")
        if ".." in Path(location).parts:
            raise InvalidModel(f"{where} escapes the model's folder ('..')")
        target = (root / location).resolve()
        if not target.is_relative_to(root):
            raise InvalidModel(f"{where} resolves outside the model's folder (symlink to {target})")
        if not target.is_file():
            raise InvalidModel(f"{where} does not exist next to the model")
        size = target.stat().st_size
        numbers = {}
        for key in ("offset", "length"):
            text = info.get(key, "") or "0"
            try:
                numbers[key] = int(text)
            except ValueError:
                raise InvalidModel(f"{where}: {key} {text!r} is not a whole number") from None
            if numbers[key] < 0:
                raise InvalidModel(f"{where}: {key} {text!r} is negative")
        offset, length = numbers["offset"], numbers["length"]
        if offset + length > size:
            raise InvalidModel(f"{where} is truncated: needs {offset + length} bytes, file has {size}")


def load_model(model, *, check: bool = True):
    """Load and validate an ONNX model from a path, bytes, or a ``ModelProto``."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, (bytes, bytearray)):
        proto = _parse(bytes(model), "<bytes>", DecodeError)
    else:
        path = Path(model)
        try:
            if not path.exists():
                raise InvalidModel(f"{path}: no such file")
            if not path.is_file():
                raise InvalidModel(f"{path}: not a file")
            data = path.read_bytes()
        except OSError as exc:  # a name too long, no permission, an I/O error: the user's path, not a bug
            shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
            raise InvalidModel(f"{shown}: cannot read ({exc.strerror or exc})") from None
        proto = _parse(data, str(path), DecodeError)
        check_external_data(proto, path.parent)
        try:
            onnx.load_external_data_for_model(proto, str(path.parent))
        except Exception as exc:
            raise InvalidModel(f"{path}: cannot read external data: {exc}") from exc
    if check:
        check_model(proto)
    return proto


def _parse(data: bytes, where: str, DecodeError):
    import onnx

    if not data:
        raise InvalidModel(f"{where}: empty file, not an ONNX model")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidModel(f"{where}: not a valid ONNX model (truncated or corrupt protobuf: {exc})") from exc
    # Random bytes occasionally parse as a protobuf; a real model always has these.
    if proto.ir_version <= 0 or not proto.HasField("graph"):
        raise InvalidModel(f"{where}: not an ONNX model (no IR version or graph)")
    _check_names(proto.graph, where)
    return proto


def _check_names(graph, where: str) -> None:
    """``InvalidModel`` for a name that is not UTF-8: protobuf hands such a string field back as ``bytes``,
    which every consumer (file names, JSON, messages) would trip over."""
    fields = [graph.name]
    for node in graph.node:
        fields += [node.name, node.op_type, node.domain, *node.input, *node.output]
        for attr in node.attribute:
            fields.append(attr.name)
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                _check_names(sub, where)
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        fields.append(vi.name)
    fields += [t.name for t in graph.initializer]
    for value in fields:
        if isinstance(value, bytes):
            raise InvalidModel(f"{where}: not a valid ONNX model (a name is not UTF-8 text: {value[:40]!r})")


def check_model(proto) -> None:
    """``onnx.checker`` as an ``InvalidModel`` with its first line."""
    import onnx

    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidModel(f"model fails onnx.checker: {first}") from exc
    except ValueError as exc:  # e.g. > 2 GB in memory
        raise InvalidModel(f"model fails onnx.checker: {exc}") from exc


# -- atomic output -----------------------------------------------------------
#
# Everything onnxhub writes is staged beside its target under a name of its own
# (".STEM.onnxhub-PID-RANDOM.tmp" for a file, "....stage" for a folder; STEM is the
# target's name, shortened and hashed past 100 bytes so the name stays legal) and moved
# into place by one rename. Staging entries a killed process left behind are swept on
# the next write to the same folder once their process is gone or they are an hour old.
# An output folder carries MARKER naming what wrote it; --force replaces only a folder
# with the marker of the same kind that holds nothing but the files the marker lists.

MARKER = ".onnxhub-output.json"
STALE_AFTER = 3600.0  # seconds: a staging entry this old is stale even if its PID is alive (reused)
_STAGING = re.compile(r"^\..+\.onnxhub-(?P<pid>\d+)-[a-z0-9_]+\.(?:tmp|stage)$")
_LEGACY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?:\.tmp)?$")  # mkstemp/mkdtemp names before 0.1.1


def _one_line(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _realpath(path) -> Path:
    return Path(os.path.realpath(path))


def _refuse_inputs(path: Path, inputs, *, folder: bool) -> None:
    """Refuse an output that is one of ``inputs`` (same file, hard link included) or, for a folder, holds one."""
    real = _realpath(path)
    for inp in inputs or ():
        inp_real = _realpath(inp)
        same = inp_real == real
        if not same and os.path.lexists(path) and os.path.exists(inp):
            try:
                same = os.path.samefile(path, inp)
            except OSError:
                same = False
        if same:
            raise UsageError(f"{path} is the input {inp}; not overwriting an input (choose another output)")
        if folder and inp_real.is_relative_to(real):
            raise UsageError(f"output folder {path} holds the input {inp}; not replacing it (choose another folder)")


def check_output_file(path, force: bool = False, inputs=()) -> None:
    """Refuse writing ``path`` unless it is new, or an existing regular file and ``force``.

    Refused whatever ``force`` says: one of ``inputs`` (compared by resolved path and by
    ``os.path.samefile``), a folder, a device node, pipe or socket (``/dev/null`` too:
    onnxhub replaces files by renaming, which would put a regular file in its place), and
    a symbolic link, dangling or not: replacing the link would silently break it and
    writing through it would change a file elsewhere, so the real path must be given.
    """
    path = Path(path)
    _refuse_inputs(path, inputs, folder=False)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{path}: cannot use it as the output: {_one_line(exc)}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path} is a symbolic link; onnxhub does not write through links (give the real path)")
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path} is not a regular file (a device, pipe or socket); not replacing it")
    if not force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")


def _tree(folder: Path) -> tuple[list[str], list[str]]:
    """``(files, folders)`` under ``folder`` as relative POSIX paths; links count as files, never followed."""
    files, folders = [], []
    for root, dirs, names in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for d in list(dirs):
            rel = (rel_root / d).as_posix()
            if os.path.islink(os.path.join(root, d)):
                files.append(rel)
                dirs.remove(d)
            else:
                folders.append(rel)
        files.extend((rel_root / n).as_posix() for n in names)
    return files, folders


def _not_own_output(path: Path, kind: str) -> str | None:
    """Why ``path`` is not onnxhub's own, untouched ``kind`` output; ``None`` when it is."""
    import json

    marker = path / MARKER
    try:
        st = os.lstat(marker)
    except FileNotFoundError:
        return f"it was not written by onnxhub (no {MARKER} marker)"
    except OSError as exc:
        return f"its {MARKER} marker cannot be read ({_one_line(exc)})"
    if not stat.S_ISREG(st.st_mode) or st.st_size > 1_000_000:
        return f"its {MARKER} marker is not a small regular file"
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        written, listed = info["kind"], set(info["files"])
        if not isinstance(written, str) or not all(isinstance(f, str) for f in listed):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        return f"its {MARKER} marker is unreadable"
    if written != kind:
        return f"it holds onnxhub's {written!r} output, not {kind!r}"
    files, folders = _tree(path)
    extra = [f for f in files if f != MARKER and f not in listed]
    extra += [d for d in folders if not any(f.startswith(d + "/") for f in listed)]
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        return f"it holds files onnxhub did not write ({extra[0]}{more})"
    return None


def check_output_dir(path, kind: str = "output", force: bool = False, inputs=()) -> None:
    """Refuse writing folder ``path`` unless it is new, empty, or (with ``force``) our own ``kind`` output.

    Refused whatever ``force`` says: the current folder or one that contains it, the
    input itself or a folder holding an input, an existing non-folder, and a symbolic
    link (give the real folder). ``force`` replaces only a folder whose ``MARKER`` names
    ``kind`` and that holds nothing but the files the marker lists.
    """
    path = Path(path)
    real, cwd = _realpath(path), _realpath(os.getcwd())
    if cwd.is_relative_to(real):
        what = "the current folder" if real == cwd else "a folder holding the current folder"
        raise UsageError(f"output folder {str(path) or '.'} is {what}; name a new folder to write")
    _refuse_inputs(path, inputs, folder=True)
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise UsageError(f"{path} is a symbolic link; onnxhub does not write through links (give the real folder)")
        if not stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{path} exists and is not a folder")
        with os.scandir(path) as it:
            empty = next(it, None) is None
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{path}: cannot use it as the output folder: {_one_line(exc)}") from None
    if empty:
        return
    if not force:
        raise UsageError(f"{path} already exists and is not empty (use --force to replace onnxhub's own earlier output)")
    problem = _not_own_output(path, kind)
    if problem:
        raise UsageError(f"{path}: {problem}; --force replaces only onnxhub's own {kind} output, so it stays")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stem(name: str) -> str:
    """``name`` if short, else a prefix of it plus a hash: staging names stay far below 255 bytes."""
    raw = os.fsencode(name)
    if len(raw) <= 100:
        return name
    return f"{raw[:80].decode('utf-8', 'ignore')}~{hashlib.sha1(raw).hexdigest()[:12]}"


def _staging_prefix(path: Path) -> str:
    return f".{_stem(path.name)}.onnxhub-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: rely on age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited but was never reaped: a killed hub's orphaned worker becomes one
    where PID 1 (a container's init) does not reap, and ``os.kill(pid, 0)`` still succeeds for it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] == b"Z"  # the state follows "(comm) ", and comm may hold ")"


def _newest_mtime(entry: os.DirEntry) -> float:
    newest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        for root, dirs, files in os.walk(entry.path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except OSError:
                    pass
    return newest


def _remove(entry_path: str) -> None:
    if os.path.isdir(entry_path) and not os.path.islink(entry_path):
        shutil.rmtree(entry_path, ignore_errors=True)
    else:
        try:
            os.unlink(entry_path)
        except OSError:
            pass


def sweep_stale(folder, name: str | None = None, *, now: float | None = None) -> list[str]:
    """Remove staging entries a killed onnxhub left in ``folder``; returns their names.

    Only entries named the way onnxhub names them (``.STEM.onnxhub-PID-RANDOM.tmp`` or
    ``.stage``) and owned by this user, whose process ``PID`` is gone or that were last
    touched over ``STALE_AFTER`` seconds ago. For ``name`` (the target being written), the
    unmarked ``.NAME.XXXXXXXX[.tmp]`` names older versions used go too, once an hour old.
    """
    now = time.time() if now is None else now
    uid = getattr(os, "getuid", lambda: None)()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            match = _STAGING.match(entry.name)
            if match:
                stale = not _pid_alive(int(match["pid"])) or now - _newest_mtime(entry) > STALE_AFTER
            else:
                legacy = _LEGACY.match(entry.name)
                stale = (legacy is not None and name is not None and legacy["name"] == name
                         and now - _newest_mtime(entry) > STALE_AFTER)
        except OSError:
            continue
        if stale:
            _remove(entry.path)
            removed.append(entry.name)
    return removed


def _test_write_delay() -> None:
    """Test hook: ``ONNXHUB_TEST_WRITE_DELAY=SECONDS`` pauses with the staged output complete, before the rename."""
    delay = os.environ.get("ONNXHUB_TEST_WRITE_DELAY")
    if delay:
        try:
            time.sleep(float(delay))
        except ValueError:
            pass


def _prepare_parent(folder: Path, name: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {folder}: {_one_line(exc)}") from None
    sweep_stale(folder, name)


@contextmanager
def atomic_file(path, *, force: bool = False, inputs=()):
    """Yield a temporary path next to ``path``; move it into place only on success.

    ``check_output_file`` decides what may be replaced: never an input, a folder, a device
    node or other non-regular file, or a symbolic link (refused, not written through: give
    the real path). On any error, Ctrl-C or SIGTERM the temporary file is removed.
    """
    path = Path(path)
    check_output_file(path, force, inputs)
    _prepare_parent(path.parent, path.name)
    tmp = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=_staging_prefix(path), suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise UsageError(f"cannot write in {path.parent}: {_one_line(exc)}") from None
        os.close(fd)
        yield Path(tmp)
        _test_write_delay()
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        check_output_file(path, force, inputs)  # again: the target may have changed during the write
        os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _write_marker(stage: Path, kind: str) -> None:
    import json

    from . import __version__

    files, _ = _tree(stage)
    info = {"tool": "onnxhub", "version": __version__, "kind": kind, "files": sorted(files)}
    (stage / MARKER).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


@contextmanager
def atomic_dir(path, *, force: bool = False, kind: str = "output", inputs=()):
    """Yield an empty staging folder beside ``path``; it replaces ``path`` only on success.

    ``check_output_dir`` decides what may be replaced (see there: with ``force`` only our
    own ``kind`` output, never the current folder, an input's folder or a link). The new
    folder gets a ``MARKER`` naming ``kind`` and its files. Replacing swaps the staged
    folder into place in one rename (two renames where the system has no exchange, the
    old one moved aside first) and only then deletes the old one.
    """
    path = Path(path)
    check_output_dir(path, kind, force, inputs)
    _prepare_parent(path.parent, path.name)
    stage = None
    try:
        try:
            stage = Path(tempfile.mkdtemp(prefix=_staging_prefix(path), suffix=".stage", dir=path.parent))
        except OSError as exc:
            raise UsageError(f"cannot write in {path.parent}: {_one_line(exc)}") from None
        yield stage
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
        for child in stage.rglob("*"):
            if child.is_file() and not child.is_symlink():
                os.chmod(child, 0o666 & ~_umask())
        _write_marker(stage, kind)
        _test_write_delay()
        check_output_dir(path, kind, force, inputs)  # again: the folder may have changed during the write
        if not os.path.lexists(path):
            os.rename(stage, path)
        elif _exchange(stage, path):
            pass  # stage now holds the old folder; removed below
        else:
            # Not a staging name: if killed between the renames, the old folder waits here, never swept.
            aside = Path(tempfile.mkdtemp(prefix=_staging_prefix(path), suffix=".old", dir=path.parent))
            os.rename(path, aside / "old")
            try:
                os.rename(stage, path)
            except BaseException:
                os.rename(aside / "old", path)
                raise
            shutil.rmtree(aside, ignore_errors=True)
    finally:
        if stage is not None and os.path.lexists(stage):
            shutil.rmtree(stage, ignore_errors=True)


PROTOBUF_LIMIT = 2_000_000_000


def check_exported(model, weights=None, input_shapes=None) -> None:
    """What an exporter wrote must be one consistent model for the shapes the user gave.

    ``weights`` (``[(name, array)]``) are a streamed export's initializers (``None``: they are in
    ``model``); the checker then sees each weight as a typed graph input, so no data is copied.
    Refuses, in one line: the checker's findings; an ``--input-shape`` name that is no
    input of the model (it would be silently ignored); and what ONNX's strict shape inference
    finds, e.g. a Gemm whose input is 65 wide for 64-wide weights, a file ONNX Runtime would
    reject (the user's shape and the weights disagree).
    """
    from .errors import UsageError

    if input_shapes and not isinstance(input_shapes, dict):  # a Python caller may pass the CLI's ["x=1,4"]
        input_shapes = {str(item).partition("=")[0]: item for item in input_shapes}
    probe = inference_probe(model, weights)
    check_model(probe if weights is not None else model)  # the full model: its tensors' data is checked too
    src = model.graph
    initializers = {t.name for t in src.initializer} | {n for n, _ in weights or ()}
    unknown = sorted(set(input_shapes or {}) - ({vi.name for vi in src.input} - initializers))
    if unknown:
        inputs = ", ".join(vi.name for vi in src.input if vi.name not in initializers) or "none"
        raise UsageError(f"--input-shape names {', '.join(unknown)}, which the model has no input of "
                         f"(its inputs: {inputs})")
    contradiction = shape_contradiction(probe)
    if contradiction:
        raise InvalidModel(inconsistent(contradiction, bool(input_shapes)))


# What ONNX's strict inference says when a graph contradicts itself: mistyped inputs of an op, or a
# declared shape the graph cannot produce (an Expand to 50 M elements declared [2, 4, 6]).
CONTRADICTIONS = ("TypeInferenceError", "inconsistent type", "Inferred shape and existing shape differ",
                  "Inferred elem type differs")


def check_types(model, where: str = "") -> None:
    """Refuse a model whose own declarations ONNX's inference contradicts: ``Add(float, int32)``, a
    float Relu declared int8, an output declared ``[2, 4, 6]`` that the graph makes 50 M wide. A
    framework would run them, converting silently or computing gigabytes before the mismatch
    shows. Other strict-inference findings are left to the backend: ONNX's own suite has a model
    (test_mvn) whose function body strict inference rejects."""
    contradiction = shape_contradiction(inference_probe(model))
    if contradiction and any(c in contradiction for c in CONTRADICTIONS):
        raise InvalidModel(f"{where + ': ' if where else ''}model fails ONNX type and shape inference: {contradiction}")


def inference_probe(model, weights=None):
    """A copy of ``model`` for shape inference that copies no weight data: initializers (and the
    streamed ``weights``) become typed graph inputs, except small ones, whose values inference reads
    (shape vectors, axes)."""
    from onnx import helper, numpy_helper

    probe = type(model)(ir_version=model.ir_version, opset_import=model.opset_import, functions=model.functions)
    g, src = probe.graph, model.graph
    g.name = src.name
    g.node.extend(src.node)
    g.output.extend(src.output)
    g.value_info.extend(src.value_info)
    g.input.extend(src.input)
    listed = {vi.name for vi in src.input}  # before IR 4, initializers are graph inputs too

    def typed(name, elem_type, dims):
        if name not in listed:
            g.input.append(helper.make_tensor_value_info(name, elem_type, dims))

    for t in src.initializer:
        if len(t.dims) <= 1 and (not t.dims or t.dims[0] <= 64):
            g.initializer.append(t)
        else:
            typed(t.name, t.data_type, list(t.dims))
    for name, arr in weights or ():
        if arr.ndim <= 1 and arr.size <= 64:
            g.initializer.append(numpy_helper.from_array(arr, name))
        else:
            typed(name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape))
    return probe


def shape_contradiction(model) -> str | None:
    """The first thing ONNX's strict shape inference finds wrong in ``model`` (edited: negative dims
    cleared), or None."""
    import onnx

    from .import_.prepare import clear_negative_dims

    clear_negative_dims(model)
    try:
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (ValueError, onnx.shape_inference.InferenceError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return first.replace("[ShapeInferenceError] Inference error(s): ", "").replace("[ShapeInferenceError] ", "")
    return None


def inconsistent(contradiction: str, shapes_given: bool) -> str:
    hint = " (do the --input-shape dims fit the weights?)" if shapes_given else ""
    return f"the exported model is inconsistent: {contradiction}{hint}"


def save_streaming(model, weights, path, *, force: bool = False, inputs=()) -> Path:
    """Write ``model`` plus its initializers, one tensor at a time.

    Protobuf merges concatenated messages, so the file is the serialized model followed by
    one ``ModelProto{graph{initializer}}`` fragment per weight: peak memory is the model
    structure plus one tensor, not the whole model twice.
    """
    total = sum(a.nbytes for _, a in weights)
    if total > PROTOBUF_LIMIT:
        raise UsageError(f"the weights ({total / 1e9:.1f} GB) exceed protobuf's 2 GB limit for one ONNX file")
    path = Path(path)
    with atomic_file(path, force=force, inputs=inputs) as tmp:
        with open(tmp, "wb") as f:
            f.write(model.SerializeToString())
            for name, arr in weights:
                for chunk in _initializer_fragment(name, arr):
                    f.write(chunk)
    return path


# Field numbers in onnx.proto: ModelProto.graph 7, GraphProto.initializer 5, TensorProto.raw_data 9.
_GRAPH, _INITIALIZER, _RAW_DATA = 7, 5, 9


def _initializer_fragment(name: str, arr) -> list:
    """The bytes of ``ModelProto{graph{initializer: tensor}}``, the array's memory written as is.

    The tensor's small fields (name, dims, type) are serialized by protobuf; ``raw_data`` is
    framed by hand, so a weight is never copied into a TensorProto and again into a string.
    Types without a plain little-endian buffer go through ``numpy_helper.from_array``.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    arr = np.asarray(arr)
    if arr.dtype.kind in "biuf" and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # a big-endian weight file, say
    try:
        elem_type = helper.np_dtype_to_tensor_dtype(arr.dtype) if arr.dtype.kind in "biuf" else None
    except (KeyError, TypeError, ValueError):
        elem_type = None
    if elem_type is None or sys.byteorder != "little":
        fragment = onnx.ModelProto()
        fragment.graph.initializer.append(numpy_helper.from_array(arr, name))
        return [fragment.SerializeToString()]
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # not np.ascontiguousarray: it makes 0-d arrays 1-d
    head = onnx.TensorProto(name=name, dims=arr.shape, data_type=elem_type).SerializeToString()
    tensor = head + _key(_RAW_DATA) + _varint(arr.nbytes)
    tensor_len = len(tensor) + arr.nbytes
    graph = _key(_INITIALIZER) + _varint(tensor_len)
    model = _key(_GRAPH) + _varint(len(graph) + tensor_len)
    return [model + graph + tensor, memoryview(arr.reshape(-1)).cast("B")]


def _key(field: int) -> bytes:
    return _varint(field << 3 | 2)  # wire type 2: length-delimited


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


EXTERNAL_DATA_ABOVE = 1_800_000_000  # bytes: a bigger model keeps its weights in NAME.data (protobuf's 2 GB limit)


def save_model(model, path, *, force: bool = False, inputs=()) -> Path:
    """Write ``model`` to ``path`` atomically (see ``atomic_file``).

    A model over ``EXTERNAL_DATA_ABOVE`` bytes keeps its weights in ``NAME.data`` beside
    it: that file follows the same rules as ``path`` (refused when it exists without
    ``force``, when it is an input, a device or a link), is staged too, and is moved into
    place just before the model.
    """
    import onnx

    path = Path(path)
    if model.ByteSize() <= EXTERNAL_DATA_ABOVE:
        with atomic_file(path, force=force, inputs=inputs) as tmp:
            onnx.save_model(model, str(tmp))
        return path
    from onnx.external_data_helper import convert_model_to_external_data, write_external_data_tensors

    data_path = path.with_name(path.name + ".data")
    check_output_file(data_path, force, inputs)
    with atomic_file(path, force=force, inputs=inputs) as tmp:
        stage = Path(tempfile.mkdtemp(prefix=_staging_prefix(path), suffix=".stage", dir=path.parent))
        try:
            convert_model_to_external_data(model, all_tensors_to_one_file=True, location=data_path.name)
            write_external_data_tensors(model, str(stage))  # the weights go to stage/NAME.data
            onnx.save_model(model, str(tmp))
            with atomic_file(data_path, force=force, inputs=inputs) as data_tmp:
                os.replace(stage / data_path.name, data_tmp)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return path
