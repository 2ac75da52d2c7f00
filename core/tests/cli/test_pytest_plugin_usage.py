"""onnxhub's pytest plugin: an unknown backend is a usage error, printed node ids run again."""

import subprocess
import sys


def pytest_run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_unknown_backend_is_a_one_line_usage_error(tmp_path):
    r = pytest_run(tmp_path, "--onnxhub-backend", "nosuch")
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage-error exit code
    assert "INTERNALERROR" not in r.stdout + r.stderr
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "no backend named 'nosuch'" in lines[0] and "reference" in lines[0]  # names the installed ones


def test_printed_conformance_ids_run_again_as_printed(tmp_path):
    r = pytest_run(tmp_path, "-v", "--onnxhub-backend", "reference", "--onnxhub-k", "^test_abs_cpu$")
    assert r.returncode == 0, r.stdout[-2000:]
    printed = [line.split()[0] for line in r.stdout.splitlines() if line.rstrip().endswith("[100%]")]
    assert printed == ["onnx-conformance[reference]::test_abs_cpu"], r.stdout[-2000:]
    r = pytest_run(tmp_path, "-v", printed[0], "onnx-conformance[reference]::test_relu_cpu")
    assert r.returncode == 0, r.stdout[-2000:]
    assert "onnx-conformance[reference]::test_abs_cpu PASSED" in r.stdout
    assert "onnx-conformance[reference]::test_relu_cpu PASSED" in r.stdout and "2 passed" in r.stdout
    r = pytest_run(tmp_path, "onnx-conformance[nosuch]::test_abs_cpu")
    assert r.returncode == 4 and "no backend named 'nosuch'" in r.stdout + r.stderr
