"""``onnxhub convert``: one model, or an inventory of models (folders, globs, many files).

The work is in ``onnxhub.conversion`` (one model), ``onnxhub.inventory`` (many) and
``onnxhub.executors`` (where they run); this module reads the arguments and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import CheckFailed, UsageError
from .output import is_terminal, print_json, print_table

DIFF_COLUMNS = [("output", "output"), ("source", "source"), ("target", "target"), ("max_abs", "max abs diff"),
                ("max_rel", "max rel diff"), ("ok", "ok"), ("note", "note")]


def convert(args, options: dict) -> None:
    from .. import conversion as conv
    from .. import inventory

    conv.check_tolerances(args.rtol, args.atol)
    if args.seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, not {args.seed}")
    if args.jobs < 1:
        raise UsageError(f"-j must be 1 or more, not {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if args.scheduler:
        from ..executors import check_scheduler_address

        check_scheduler_address(args.scheduler)
    adapters = conv.resolve(args.source, args.target, args.verify)  # bad names fail before any file is read
    out = Path(args.output)
    models = None
    if not inventory.is_inventory(args.files):
        for f in args.files:
            if not Path(f).is_file():
                raise UsageError(f"{f}: no such file, folder or matching glob")
        models = inventory.find_models(args.files, args.source, adapters[0])
        if len(models) <= 1:  # one model: written straight into DIR, as `import` would
            if args.executor != "local":
                sys.stderr.write(f"onnxhub: note: one model converts here; --executor {args.executor} "
                                 "distributes the models of an inventory (a folder, a glob, several models)\n")
            return _one(args, adapters, options)
    settings = {"source": args.source, "target": args.target, "opset": args.opset, "options": options,
                "verify": args.verify, "rtol": args.rtol, "atol": args.atol, "seed": args.seed}
    if args.executor == "dask" and args.scheduler:
        from ..executors import probe_scheduler

        probe_scheduler(args.scheduler)  # before DIR is touched: a bad address leaves nothing behind
    created = not out.exists()
    inventory.prepare_output(out, args.files)
    try:
        if models is None or inventory.is_inventory(args.files):
            models = inventory.find_models(args.files, args.source, adapters[0], exclude=out)
        if not models:
            raise UsageError(f"no {args.source} model found in {', '.join(map(str, args.files))} "
                             f"(looked for files named like the exporter's patterns)")
        report = inventory.run(models, out, settings, jobs=args.jobs, executor=args.executor,
                               scheduler=args.scheduler, force=args.force,
                               progress=not args.json and is_terminal(sys.stderr))
    except BaseException:
        inventory.discard_unused(out, created)  # e.g. Dask did not start: no empty skeleton stays behind
        raise
    if args.json:
        print_json(report)
    else:
        rows = [dict(r, status=r["status"] + (" (earlier run)" if r["resumed"] else ""),
                     max_abs=_worst(r, "max_abs"), max_rel=_worst(r, "max_rel"),
                     note=inventory.notes(r.get("differences"))) for r in report["models"]]
        columns = [("name", "model"), ("status", "status")]
        if args.verify:
            columns += [("max_abs", "max abs diff"), ("max_rel", "max rel diff")]
        print_table(rows, columns + [("seconds", "seconds"), ("error", "error")]
                    + ([("note", "note")] if args.verify else []), title=f"{args.source} -> {args.target}")
        sys.stdout.write(f"{report['total']} models: {report['ok']} ok, {report['mismatch']} mismatch, "
                         f"{report['failed']} failed ({report['resumed']} from an earlier run); "
                         f"report: {out / inventory.REPORT_JSON}, {out / inventory.REPORT_MD}\n")
    bad = report["mismatch"] + report["failed"]
    if bad:
        raise CheckFailed(f"{bad} of {report['total']} models did not convert cleanly "
                          f"(see {out / inventory.REPORT_MD})")


def _worst(row: dict, key: str):
    values = [d[key] for d in row.get("differences") or () if d.get(key) is not None]
    return max(values) if values else None


def _one(args, adapters, options: dict) -> None:
    from .. import conversion as conv

    result = conv.convert_one_model(args.files, args.source, args.target, args.output, opset=args.opset,
                                    force=args.force, verify=args.verify, rtol=args.rtol, atol=args.atol,
                                    seed=args.seed, adapters=adapters, **options)
    if args.json:
        print_json(result)
    else:
        for path in result["written"]:
            sys.stdout.write(f"wrote {path}\n")
        if result["differences"] is not None:
            print_table(result["differences"], DIFF_COLUMNS, title="verified")
    if not result["ok"]:
        raise CheckFailed(f"outputs differ beyond rtol={args.rtol} atol={args.atol}")
