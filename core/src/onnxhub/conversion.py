"""Verified conversion of one model: framework A's files -> ONNX -> framework B's files.

``convert_one_model`` is what ``onnxhub convert`` runs for one model (and what each
worker of an inventory runs per model): the exporter of A, then the importer of B (or,
for ``target="onnx"``, the ONNX file itself), written atomically into one folder. With
``verify=True`` the *source files* run on real A and the *written files* on real B (ONNX
Runtime for ``onnx``) on the same seeded random inputs, and every output is compared.
``source="onnx"`` starts from an ONNX file, run by ONNX Runtime (``import --verify``).

Running a framework's own files is the converters' optional ``run_files`` method (the
contract is in ``onnxhub.hookspecs``: ``register_exporters`` / ``register_importers``):

    run_files(files, inputs) -> [array, ...]     # or {output name: array}

``files`` are the model's files (the user's files for an exporter, the files the importer
wrote for an importer), ``inputs`` maps the exported ONNX graph's input names to numpy
arrays; the result is the model's outputs in the ONNX graph's output order. It runs the
real framework (in its isolated runtime when it has one).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from . import api
from .errors import InvalidModel, UsageError

ONNX_TARGET = "onnx"  # ``--to onnx``: stop after the export
ONNX_SOURCE = "onnx"  # ``--from onnx`` (and ``import --verify``): the ONNX file is the source
ONNX_JUDGE = "onnxruntime"  # the backend that runs the ONNX file for ``--to onnx --verify`` and ``--from onnx``


class OnnxSource:
    """The source adapter of ``--from onnx``: "exporting" loads the file (checked, external data
    read safely), its ``run_files`` is ONNX Runtime. ``--input-shape`` fixes the model's input dims,
    so the importer and the check see the shapes the user gave."""

    patterns = ("*.onnx",)

    def export(self, files, opset: int = 17, input_shapes=None, **options):
        from .import_.prepare import fix_input_shapes
        from .modelio import load_model

        if len(files) != 1:
            raise UsageError(f"--from onnx takes one .onnx file per model, not {len(files)} files")
        model = load_model(files[0])
        if input_shapes:
            fix_input_shapes(model, input_shapes, "--from onnx")
        return model

    def run_files(self, files, inputs):
        model = self.export(files)  # the inputs carry the shapes --input-shape fixed
        outs = api.run(model, inputs, backend=ONNX_JUDGE, checked=True)
        return [outs[o.name] for o in model.graph.output]


def output_kind(source: str, target: str) -> str:
    """The kind written into an output folder's marker (``import`` and ``convert`` to B share ``import:B``)."""
    return f"export:{source}" if target == ONNX_TARGET else api._import_kind(target)


# The tolerances of every comparison the CLI makes (convert --verify, verify): float32 kernels of two
# frameworks differ by about 1e-5 on unit-sized outputs, so atol 1e-4 passes those and nothing more.
RTOL, ATOL = 1e-3, 1e-4


def check_tolerances(rtol: float, atol: float) -> None:
    for what, value in (("--rtol", rtol), ("--atol", atol)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise UsageError(f"{what} must be a finite number >= 0, not {value}")


def resolve(source: str, target: str, verify: bool = False):
    """``(exporter, importer or None)``, loaded once; with ``verify`` both must be able to run their files."""
    if source == ONNX_SOURCE and target == ONNX_TARGET:
        raise UsageError("--from onnx --to onnx converts nothing; name a framework to import into")
    exporter = OnnxSource() if source == ONNX_SOURCE else api._usable("exporter", source)
    importer = None if target == ONNX_TARGET else api._usable("importer", target)
    if source == ONNX_SOURCE and verify:
        api.backend_for(ONNX_JUDGE)  # ONNX Runtime runs the source: it must be ready before any work
    if verify:
        if not callable(getattr(exporter, "run_files", None)):
            raise UsageError(f"--verify needs the {source!r} exporter to run its files (run_files), "
                             "which it does not offer yet")
        if importer is None:
            api.backend_for(ONNX_JUDGE)  # ONNX Runtime must be ready: fails here, before any work
        elif not callable(getattr(importer, "run_files", None)):
            raise UsageError(f"--verify needs the {target!r} importer to run the files it writes (run_files), "
                             "which it does not offer yet")
    return exporter, importer


def compare(names, want, got, rtol: float, atol: float, source: str, target: str) -> list[dict]:
    """One row per output: ``{"output", "source", "target", "max_abs", "max_rel", "scale", "ok", "note"}``.

    The pass rule is ``numpy.allclose(got, want, rtol, atol)`` (``|b - a| <= atol + rtol * |a|``
    everywhere, NaN equal to NaN). What is reported is scale-aware: ``max_abs`` is the
    largest ``|b - a|``, ``scale`` the largest ``|a|`` (finite values), and ``max_rel`` is
    ``max_abs / scale``: the worst difference relative to the output's magnitude, not to
    each element's (which is meaningless on outputs near zero, such as saturated
    probabilities). When ``scale`` is below ``atol`` the check says nothing (any values
    that small pass): the row passes but its note says so.
    """
    import numpy as np

    want, got = _as_list(names, want, source), _as_list(names, got, target)
    rows = []
    for name, w, g in zip(names, want, got):
        w, g = np.asarray(w), np.asarray(g)
        row = {"output": name, "source": source, "target": target, "max_abs": None, "max_rel": None, "scale": None}
        if w.shape != g.shape:
            row.update(ok=False, note=f"shape {list(g.shape)} != {list(w.shape)}")
        elif not w.size:
            row.update(ok=True, note="empty")
        elif np.issubdtype(w.dtype, np.number) or w.dtype == np.bool_:
            r, x = w.astype(np.float64), g.astype(np.float64)
            close = bool(np.allclose(x, r, rtol=rtol, atol=atol, equal_nan=True))
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(x - r)
                same = (x == r) | (np.isnan(x) & np.isnan(r))  # inf == inf and NaN == NaN differ by nothing
                diff = np.where(same, 0.0, diff)
            finite_ref = np.abs(r[np.isfinite(r)])
            scale = float(finite_ref.max()) if finite_ref.size else None
            max_abs = float(np.nanmax(diff)) if not np.isnan(diff).all() else None
            row.update(max_abs=max_abs, scale=scale)
            if max_abs is not None and scale:
                row["max_rel"] = max_abs / scale
            elif max_abs == 0:
                row["max_rel"] = 0.0
            if not close:
                note = f"beyond rtol={rtol} atol={atol}"
            elif scale is not None and scale < atol and np.issubdtype(w.dtype, np.floating):
                note = f"|output| <= {scale:.1e}, below atol={atol}: any values this small pass"
            else:
                note = ""
            row.update(ok=close, note=note)
        else:
            close = bool(np.array_equal(w, g))
            row.update(ok=close, note="" if close else "values differ")
        rows.append(row)
    return rows


def _as_list(names, outputs, who: str) -> list:
    """``run_files``' result as a list in graph-output order (a dict is matched by output name)."""
    from .errors import PluginError

    if isinstance(outputs, dict):
        missing = [n for n in names if n not in outputs]
        if missing:
            raise PluginError(f"{who} run_files returned no output named {missing[0]!r}")
        return [outputs[n] for n in names]
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__len__"):
        raise PluginError(f"{who} run_files returned {type(outputs).__name__}, not a list of outputs")
    outputs = list(outputs)
    if len(outputs) != len(names):
        raise PluginError(f"{who} run_files returned {len(outputs)} output(s); the model has {len(names)}")
    return outputs


DYNAMIC_AXES = ("batch", "sequence")  # dims named so are the dynamic axes exporters declare


def seeded_inputs(model, seed: int) -> dict:
    """Random inputs from the exported graph's types; the batch and sequence axes are 1 (said once, here).

    The batch is an input's first dimension when it is not fixed, or a dimension named
    ``batch``; a dimension named ``sequence`` (CNTK's sequence axis) is a dynamic axis too.
    Any other free dimension (a height the source file does not record) is not guessed:
    ``UsageError`` asks for ``--input-shape``, since a wrong size makes the source fail
    or, worse, check nothing.
    """
    from .inputs import input_specs, random_inputs

    dims = {}
    for name, _, shape in input_specs(model):
        free = []
        for i, d in enumerate(shape or ()):
            if isinstance(d, int) and d > 0:
                continue
            if i == 0 or d in DYNAMIC_AXES:
                dims[d if isinstance(d, str) else f"{name}:{i}"] = 1
            else:
                free.append(i)
        if free:
            example = ",".join(str(d) if isinstance(d, int) and d > 0 else ("1" if i not in free else "?")
                               for i, d in enumerate(shape))
            raise UsageError(f"--verify cannot choose the size of dimension(s) {', '.join(map(str, free))} of "
                             f"input {name!r} (the source files do not record it): pass "
                             f"--input-shape {name}={example} with each ? replaced by its size")
    return random_inputs(model, dims, seed=seed)


def convert_one_model(files, source: str, target: str, output_dir, *, opset: int = 17, force: bool = False,
                      verify: bool = False, rtol: float = RTOL, atol: float = ATOL, seed: int = 0,
                      adapters=None, **options) -> dict:
    """Convert (and with ``verify`` check) one model into ``output_dir``.

    Returns ``{"written": [paths], "differences": [rows] or None, "ok": bool}``; ``ok`` is
    false only when a verified output differs beyond the tolerance. ``adapters`` is
    ``resolve()``'s pair when the caller already has it.
    """
    from .modelio import atomic_dir, check_output_dir, save_model

    exporter, importer = adapters or resolve(source, target, verify)
    kind = output_kind(source, target)
    inputs = [str(f) for f in files]
    check_output_dir(Path(output_dir), kind, force, inputs=inputs)  # a full folder fails before the export
    paths = [str(f) for f in files]
    for f in paths:
        if not Path(f).is_file():
            raise InvalidModel(f"{f}: no such file")
    if isinstance(exporter, OnnxSource):  # the importer takes the options; the file is checked as it loads
        model, import_options = exporter.export(paths, input_shapes=options.get("input_shapes")), options
    else:
        model, import_options = api._export(paths, exporter, opset, **options), {}
    feeds = seeded_inputs(model, seed) if verify else None  # refuses before anything is written
    names = [o.name for o in model.graph.output]
    want = got = judge = None
    if verify:
        # Everything --verify can run without the written files runs before they are written:
        # a source that cannot run (its runtime missing, the framework refusing the inputs)
        # leaves no unverified output behind to block the corrected rerun.
        want = exporter.run_files(paths, {k: v.copy() for k, v in feeds.items()})
        if importer is None:
            outs = api.run(model, dict(feeds), backend=ONNX_JUDGE, checked=True)
            got, judge = [outs[n] for n in names], ONNX_JUDGE
    output_dir = Path(output_dir)
    existed = os.path.lexists(output_dir)
    if importer is None:
        name = _safe_name(model.graph.name or Path(paths[0]).stem)
        with atomic_dir(output_dir, force=force, kind=kind, inputs=inputs) as stage:
            save_model(model, stage / f"{name}.onnx")
        written = [output_dir / f"{name}.onnx"]
    else:
        written = api._import(model, importer, output_dir, force, kind=kind, inputs=inputs, **import_options)
    result = {"written": [str(p) for p in written], "differences": None, "ok": True}
    if verify:
        if importer is not None:
            try:
                got, judge = importer.run_files([str(p) for p in written], dict(feeds)), target
            except BaseException:
                if not existed:  # this run made the folder: the unverified output goes with the failure
                    shutil.rmtree(output_dir, ignore_errors=True)
                raise
        rows = compare(names, want, got, rtol, atol, source, judge)
        result.update(differences=rows, ok=all(r["ok"] for r in rows))
    return result


def _safe_name(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
