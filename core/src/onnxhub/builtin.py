"""The core's own plugin: the reference backend, registered like any third party's."""

import platform

from . import hookimpl
from .specs import BackendSpec


def _pinned_blas() -> tuple:
    """numpy's OpenBLAS picks its kernels by CPU and splits sums by thread: the light real models of
    the suite are ill-conditioned (logits near 1e19), so the reference's squeezenet passed on an
    AVX-512 EPYC and failed on an AVX2 one. One kernel family every x86-64 CPU of this kind runs
    (Haswell: AVX2), one thread."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            avx2 = " avx2" in f.read(65536)
    except OSError:
        avx2 = False
    pins = [("OPENBLAS_NUM_THREADS", "1")]
    if platform.machine().lower() in ("x86_64", "amd64") and avx2:
        pins.append(("OPENBLAS_CORETYPE", "Haswell"))
    return tuple(pins)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="reference",
            summary="onnx.reference.ReferenceEvaluator: pure numpy, every standard op, slow",
            target="onnxhub.backend.reference:ReferenceBackend",
            devices=("cpu",),
            requires=("onnx", "numpy"),
            priority=0,
            env=_pinned_blas(),
        )
    )
