"""The verified conversion matrix of docs/switching.md: real frameworks on both sides.

For each source framework it makes the models of its plugin's ground-truth tests with the
real framework, then converts each family with ``onnxhub convert --verify`` to every
target (the three frameworks, and ONNX judged by ONNX Runtime), and writes each pair's
report, with paths made relative, to ``docs/conversion/SOURCE-to-TARGET.json``. The docs
build renders the matrix from those files (``onnxhub.inventory.matrix_markdown``).

Families (the recipes the plugins' tests check against the real framework):

- mxnet: Gluon model-zoo architectures (random init, exported by Gluon itself, in the
  mxnet runtime; ``plugins/onnx_mxnet/tests/mxnet_side.py``) and the pure-Python samples
  of ``onnxhub_mxnet.samples``;
- caffe2: the nets of ``plugins/onnx_caffe2/tests/caffe2_side.py`` (brew / core.Net,
  seeded weights, saved as the model zoo did: init_net.pb + predict_net.pb + value_info.json);
- cntk: the ``cntk.layers`` models of ``plugins/onnx_cntk/tests/cntk_side.py`` (saved by
  CNTK's ``Function.save``).

A model that does not convert keeps its one-line error in the report (the cell's reason).
Needs the mxnet, caffe2 and cntk runtimes (``onnxhub runtime install NAME``).

    python benchmarks/conversion_matrix.py [--sources mxnet,caffe2,cntk] [--targets onnx,mxnet,caffe2,cntk]
        [--models resnet18_v1,lenet,...] [-j 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDES = {"mxnet": ROOT / "plugins" / "onnx_mxnet" / "tests" / "mxnet_side.py",
         "caffe2": ROOT / "plugins" / "onnx_caffe2" / "tests" / "caffe2_side.py",
         "cntk": ROOT / "plugins" / "onnx_cntk" / "tests" / "cntk_side.py"}
MXNET_ZOO = ["alexnet", "densenet121", "mobilenet0.25", "mobilenetv2_0.25", "resnet18_v1", "resnet18_v2",
             "squeezenet1.1", "vgg11_bn"]
MXNET_SAMPLES = ["sample_d2", "sample_d5"]
CAFFE2_NETS = ["lenet", "alexnet", "vgg_bn", "squeezenet", "mobilenet_v2", "resnet50", "shufflenet", "resnext",
               "resnet_cifar", "googlenet", "conv_padding", "legacy_pooling", "legacy_broadcast", "channel_ops",
               "detectron_blocks", "misc_ops"]
CNTK_MODELS = ["mlp", "cnn", "lstm", "mlp_full", "cnn_full", "tensor_ops", "bidirectional", "sequence_ops",
               "recurrent_variants", "resnet50"]
TARGETS = ["onnx", "mxnet", "caffe2", "cntk"]


def _worker(source: str):
    from onnxhub.testing import runtime_worker

    return runtime_worker(source, SIDES[source])


def make_mxnet(folder: Path, wanted) -> list[tuple[str, Path, list[str]]]:
    """MXNet families: ``[(family, folder, extra convert args)]``."""
    from onnxhub_mxnet.samples import write_model

    zoo, samples = folder / "zoo", folder / "samples"
    families = []
    names = [n for n in MXNET_ZOO if wanted is None or n in wanted]
    with _worker("mxnet") as worker:
        for name in names:
            zoo.mkdir(parents=True, exist_ok=True)
            worker.call("zoo", {"name": name, "prefix": str(zoo / name), "batch": 1}, timeout=900)
    if names:
        families.append(("MXNet Gluon model zoo (random init, exported by Gluon)", zoo,
                         ["--input-shape", "data=1,3,224,224"]))
    for name in MXNET_SAMPLES:
        if wanted is None or name in wanted:
            write_model(samples, name, seed=int(name[-1]), depth=int(name[-1]))
    if samples.is_dir():
        families.append(("onnxhub_mxnet.samples classifiers (written in pure Python, MXNet's layout)", samples, []))
    return families


def make_caffe2(folder: Path, wanted) -> list[tuple[str, Path, list[str]]]:
    with _worker("caffe2") as worker:
        for name in CAFFE2_NETS:
            if wanted is None or name in wanted:
                worker.call("build", {"name": name, "folder": str(folder / name), "style": "zoo", "batch": 1},
                            timeout=900)
    return [("Caffe2 nets of caffe2_side.py (seeded weights; init_net + predict_net + value_info.json)", folder, [])]


def make_cntk(folder: Path, wanted) -> list[tuple[str, Path, list[str]]]:
    folder.mkdir(parents=True, exist_ok=True)
    with _worker("cntk") as worker:
        for name in CNTK_MODELS:
            if wanted is None or name in wanted:
                worker.call("build", {"name": name, "path": str(folder / f"{name}.model")}, timeout=900)
    return [("CNTK models of cntk_side.py (cntk.layers, seeded parameters, saved by CNTK)", folder, [])]


MAKERS = {"mxnet": make_mxnet, "caffe2": make_caffe2, "cntk": make_cntk}


def convert(source: str, src: Path, target: str, out: Path, jobs: int, extra) -> dict:
    cmd = [sys.executable, "-m", "onnxhub", "convert", str(src), "--from", source, "--to", target, "-o", str(out),
           "--verify", "-j", str(jobs), "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        sys.exit(f"convert {source} to {target} failed ({r.returncode}): {r.stderr.strip()[-600:]}")
    report = json.loads(r.stdout)
    for m in report["models"]:  # paths of this machine's temporary folder mean nothing in the docs
        m["files"] = [Path(f).name for f in m["files"]]
    return report


def merge(reports: list[tuple[str, dict]]) -> dict:
    """One report per pair: the families' models together (their family in ``m["family"]``)."""
    first = dict(reports[0][1])
    models = []
    for family, rep in reports:
        models += [dict(m, family=family) for m in rep["models"]]
    first["models"] = models
    for key in ("total", "ok", "mismatch", "failed", "resumed"):
        first[key] = sum(rep[key] for _, rep in reports)
    first["seconds"] = round(sum(rep["seconds"] for _, rep in reports), 3)
    first["family"] = "; ".join(family for family, _ in reports)
    return first


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", default="mxnet,caffe2,cntk")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--models", default=None, help="only these models (names of any family)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "docs" / "conversion"), help="folder of the reports")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.models.split(",")) if args.models else None
    with tempfile.TemporaryDirectory(prefix="onnxhub-matrix-") as tmp:
        for source in args.sources.split(","):
            families = MAKERS[source](Path(tmp) / source, wanted)
            for target in args.targets.split(","):
                reports = []
                for i, (family, src, extra) in enumerate(families):
                    dest = Path(tmp) / f"{source}-{i}-to-{target}"
                    reports.append((family, convert(source, src, target, dest, args.jobs, extra)))
                report = merge(reports)
                path = out / f"{source}-to-{target}.json"
                path.write_text(json.dumps(report, indent=1) + "\n")
                print(f"{path}: {report['ok']} ok, {report['mismatch']} mismatch, {report['failed']} failed "
                      f"of {report['total']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
