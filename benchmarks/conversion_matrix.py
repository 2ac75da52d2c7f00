"""The verified conversion matrix of docs/switching.md: real frameworks on both sides.

For each source family it makes models with the real framework (MXNet: Gluon model-zoo
architectures, random init, exported by Gluon itself, in the mxnet runtime), converts the
whole inventory with ``onnxhub convert --verify`` to every target that has an importer
(and to ONNX, judged by ONNX Runtime), and writes each run's report, with paths made
relative, to ``docs/conversion/SOURCE-to-TARGET.json``. The docs build renders the
matrix from those files (``onnxhub.inventory.matrix_markdown``).

Needs the mxnet runtime (onnxhub runtime install mxnet). Sources other than MXNet join
when their exporters and importers offer ``run_files`` (see docs/switching.md).

    python benchmarks/conversion_matrix.py [--models resnet18_v1,...] [--targets onnx,mxnet] [-j 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDE = ROOT / "plugins" / "onnx_mxnet" / "tests" / "mxnet_side.py"
MXNET_ZOO = ["alexnet", "densenet121", "mobilenet0.25", "mobilenetv2_0.25", "resnet18_v1", "resnet18_v2",
             "squeezenet1.1", "vgg11_bn"]


def make_mxnet_zoo(folder: Path, names) -> None:
    from onnxhub.testing import runtime_worker

    folder.mkdir(parents=True, exist_ok=True)
    with runtime_worker("mxnet", SIDE) as worker:
        for name in names:
            worker.call("zoo", {"name": name, "prefix": str(folder / name), "batch": 1}, timeout=900)


def convert(src: Path, target: str, out: Path, jobs: int, shape: str) -> dict:
    cmd = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", "mxnet", "--to", target, "-o", str(out),
           "--verify", "--input-shape", shape, "-j", str(jobs), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        sys.exit(f"convert to {target} failed ({r.returncode}): {r.stderr.strip()[-600:]}")
    report = json.loads(r.stdout)
    for m in report["models"]:  # paths of this machine's temporary folder mean nothing in the docs
        m["files"] = [Path(f).name for f in m["files"]]
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MXNET_ZOO), help="MXNet model-zoo architectures")
    p.add_argument("--targets", default="onnx,mxnet", help="targets whose importers offer run_files (default "
                   "onnx,mxnet; add caffe2 and cntk as their importers gain run_files)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "docs" / "conversion"), help="folder of the reports")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onnxhub-matrix-") as tmp:
        src = Path(tmp) / "mxnet-zoo"
        make_mxnet_zoo(src, args.models.split(","))
        for target in args.targets.split(","):
            report = convert(src, target, Path(tmp) / f"to-{target}", args.jobs, "data=1,3,224,224")
            report["family"] = "MXNet Gluon model zoo (random init, exported by Gluon)"
            path = out / f"mxnet-to-{target}.json"
            path.write_text(json.dumps(report, indent=1) + "\n")
            print(f"{path}: {report['ok']} ok, {report['mismatch']} mismatch, {report['failed']} failed "
                  f"of {report['total']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
