"""Model inputs for ``run`` and ``verify``: read from files, or made up from the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cli.output import note
from .errors import InvalidModel, UsageError


def input_specs(model) -> list[tuple[str, np.dtype | None, list]]:
    """``(name, numpy dtype, dims)`` per graph input that is not an initializer.

    A dim is an int, a ``str`` (symbolic name) or ``None`` (unknown).
    """
    from onnx import helper

    inits = {t.name for t in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dtype = None
        if vi.type.HasField("tensor_type") and tt.elem_type:
            try:
                dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
            except (KeyError, TypeError):
                dtype = None
        dims = None
        if tt.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim]
        specs.append((vi.name, dtype, dims))
    return specs


def _load_array(path: Path):
    if not path.is_file():
        raise InvalidModel(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InvalidModel(f"{path}: not a readable .npy/.npz file ({exc})") from exc
    return data


MAX_INPUT_BYTES = 16 * 2**30  # an input array (or .npz member) larger than this is refused before it is read


def _npz_member(data, key: str, file: str):
    """One member of an ``.npz``, read inside the error handling (pickled, corrupt, huge: ``InvalidModel``)."""
    try:
        member = key + ".npy"
        if member in data.zip.namelist():
            with data.zip.open(member) as f:  # the header's declared size, checked before anything is allocated
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
            need = dtype.itemsize * int(np.prod(shape, dtype=object))
            if need > MAX_INPUT_BYTES:
                raise InvalidModel(f"{file}: member {key!r} declares {need} bytes, over the "
                                   f"{MAX_INPUT_BYTES} byte limit for an input")
        return data[key]
    except InvalidModel:
        raise
    except MemoryError:
        raise InvalidModel(f"{file}: member {key!r} is too large to read") from None
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise InvalidModel(f"{file}: member {key!r} is not a readable array "
                           f"({type(exc).__name__}: {text[0] if text else ''})") from None


def read_inputs(args: list[str], names: list[str]) -> dict:
    """Parse ``-i NAME=FILE.npy``, ``-i FILE.npz`` and (one-input models) ``-i FILE.npy``."""
    feeds = {}
    for arg in args:
        name, sep, file = arg.partition("=")
        if not sep:
            name, file = None, arg
        data = _load_array(Path(file))
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                for key in data.files:
                    feeds[key] = _npz_member(data, key, file)
        elif name is None:
            if len(names) != 1:
                raise UsageError(f"-i {file}: the model has inputs {names}; write -i NAME={file}")
            feeds[names[0]] = data
        else:
            feeds[name] = data
    return feeds


MAX_RANK = 32
MAX_RANDOM_BYTES = 4 * 2**30  # --random-inputs makes no single input larger than this


def random_inputs(model, dims: dict[str, int], seed: int = 0) -> dict:
    """Random arrays with the model's dtypes and shapes; dynamic dims from ``dims`` (default 1).

    Each array is generated in its own dtype (no float64 copy). A negative seed, a ``dims``
    value below 0, a rank over ``MAX_RANK`` or an input over ``MAX_RANDOM_BYTES`` is ``UsageError``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, not {seed!r}")
    for key, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"--dim {key}={value}: a dimension must be a whole number >= 0")
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dtype, shape in input_specs(model):
        if dtype is None or shape is None:
            raise UsageError(f"input {name!r} has no tensor type or shape; give it with -i {name}=FILE.npy")
        if len(shape) > MAX_RANK:
            raise UsageError(f"input {name!r} has rank {len(shape)}; --random-inputs makes at most rank {MAX_RANK}")
        concrete = []
        for i, d in enumerate(shape):
            if isinstance(d, int) and d > 0:
                concrete.append(d)
                continue
            key = d if isinstance(d, str) else f"{name}:{i}"
            if key not in dims:
                note(f"note: dynamic dimension {key!r} of input {name!r} set to 1 (use --dim {key}=N)")
            concrete.append(dims.get(key, 1))
        size = 1
        for d in concrete:
            size *= d
        if size * dtype.itemsize > MAX_RANDOM_BYTES:
            shown = "x".join(map(str, concrete))
            raise UsageError(f"input {name!r} of shape {shown} would need {size * dtype.itemsize} bytes; "
                             f"--random-inputs makes at most {MAX_RANDOM_BYTES} (use smaller --dim values or -i)")
        feeds[name] = _random_array(rng, dtype, concrete, name)
    return feeds


def _random_array(rng, dtype: np.dtype, shape: list, name: str):
    """Random data made in ``dtype`` itself: peak memory is the array, not a float64 copy of it."""
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape, dtype=np.uint8).view(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 10, size=shape, dtype=dtype)
    if dtype in (np.float32, np.float64):
        return rng.standard_normal(size=shape, dtype=dtype)
    if np.issubdtype(dtype, np.floating):  # float16: no native generator; made in float32, half the size of float64
        out = np.empty(shape, dtype)
        flat = out.reshape(-1)
        for start in range(0, flat.size, 1 << 20):
            stop = min(flat.size, start + (1 << 20))
            flat[start:stop] = rng.standard_normal(stop - start, dtype=np.float32)
        return out
    raise UsageError(f"cannot make random data of type {dtype} for input {name!r}; use -i")


def check_inputs(model, feeds: dict) -> dict:
    """Every input present, with the declared dtype, rank and static dims; else ``UsageError``."""
    specs = input_specs(model)
    names = [s[0] for s in specs]
    unknown = sorted(set(feeds) - set(names))
    if unknown:
        raise UsageError(f"unknown input(s) {unknown}; the model takes {names}")
    missing = [n for n in names if n not in feeds]
    if missing:
        raise UsageError(f"missing input(s) {missing}; pass -i NAME=FILE.npy or --random-inputs")
    for name, dtype, dims in specs:
        arr = np.asarray(feeds[name])
        if dtype is not None and arr.dtype != dtype:
            raise UsageError(f"input {name!r} must be {dtype}, got {arr.dtype}")
        if dims is not None:
            want = "x".join(str(d if d else "?") for d in dims) or "scalar"
            if arr.ndim != len(dims) or any(isinstance(d, int) and d > 0 and d != s for d, s in zip(dims, arr.shape)):
                got = "x".join(map(str, arr.shape)) or "scalar"
                raise UsageError(f"input {name!r} must have shape {want}, got {got}")
        feeds[name] = arr
    return {n: feeds[n] for n in names}


def summarize(name: str, arr) -> dict:
    arr = np.asarray(arr)
    row = {"name": name, "dtype": str(arr.dtype), "shape": list(arr.shape), "min": None, "max": None, "mean": None}
    if arr.size and (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        a = arr.astype(np.float64)
        row.update(min=float(np.nanmin(a)), max=float(np.nanmax(a)), mean=float(np.nanmean(a)))
    return row
