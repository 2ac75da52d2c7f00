"""A smoke subset of ONNX's backend suite on OpenVINO through onnxhub's pytest plugin (the whole suite:
``onnxhub test-backend openvino``, counted in docs/conformance/openvino.md and held to a floor by nox)."""

import subprocess
import sys

# Ops of every family the backend must get right: elementwise, conv/pool, shape ops, casts to
# and from int64 and bool, scalars, reductions, control flow, and a real model.
CASES = ("^test_(abs|relu|add_bcast|conv_with_strides_padding|maxpool_2d_default|averagepool_2d_default|"
         "reshape_reduced_dims|transpose_default|concat_2d_axis_0|gather_0|argmax_default_axis_example|"
         "cast_FLOAT_to_DOUBLE|equal|where_example|reduce_sum_default_axes_keepdims_example|matmul_2d|"
         "if|size|shape|softmax_axis_1|gemm_default_no_bias|identity|light_squeezenet)_cpu$")


def test_smoke_subset_passes(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--onnxhub-backend",
                        "openvino", "--onnxhub-k", CASES, "--rootdir", str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1].startswith("22 passed"), r.stdout[-2000:]  # every case the pattern names
