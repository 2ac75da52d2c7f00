import json

import pytest

from onnxhub.conformance.cases import collect, operator_of

from conftest import install_fake_plugin, run_cli


def suite_cli(*args):
    """``onnxhub test-backend ARGS``, with room for a loaded machine: only the suite's own limits are tested."""
    return run_cli("test-backend", *args, timeout=900)


def test_collect_counts_every_kind():
    cases = collect("cpu")
    kinds = {c.kind for c in cases}
    assert kinds == {"node", "real", "simple", "pytorch-converted", "pytorch-operator"}
    assert len(cases) > 1500 and len({c.name for c in cases}) == len(cases)
    assert all(c.name.endswith("_cpu") for c in cases)


@pytest.mark.parametrize("name, ops, expected", [
    ("test_conv_with_strides", ["Conv"], "Conv"),
    ("test_convtranspose_1d", ["ConvTranspose"], "ConvTranspose"),
    ("test_softmax_axis_0_expanded", ["Constant", "ReduceMax", "Sub", "Exp"], "Softmax"),
    ("test_reduce_l1_default_axes_keepdims_example_expanded", ["Abs", "ReduceSum"], "ReduceL1"),
    ("test_maxpool_2d_default", ["MaxPool"], "MaxPool"),
    ("test_max_example", ["Max"], "Max"),
])
def test_operator_of(name, ops, expected):
    assert operator_of(name, ops) == expected


def test_test_backend_json_report_shape(tmp_path):
    report = tmp_path / "r.json"
    r = suite_cli("reference", "-k", r"^test_(abs|relu|add)_cpu$", "-j", "2", "--json",
                "--report", report)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"backend", "onnx_version", "total", "passed", "failed", "skipped", "pass_rate", "cases"} <= set(data)
    assert data["total"] == 3 == data["passed"] and data["pass_rate"] == 1.0
    assert set(data["cases"][0]) >= {"name", "kind", "outcome", "seconds", "message"}
    assert json.loads(report.read_text())["total"] == 3
    import ml_dtypes
    import numpy
    import onnx

    # The versions that computed the expected outputs are the ones this interpreter has.
    assert data["expectations"] == {"onnx": onnx.__version__, "numpy": numpy.__version__,
                                    "ml_dtypes": ml_dtypes.__version__}


def test_markdown_and_html_reports(tmp_path):
    for suffix in (".md", ".html"):
        out = tmp_path / f"r{suffix}"
        r = suite_cli("reference", "-k", r"^test_(abs|loop16_seq_none)_cpu$", "--report", out)
        assert r.returncode == 0, r.stderr
        text = out.read_text()
        assert "Abs" in text and "test_loop16_seq_none_cpu" in text  # a known reference failure is listed
        assert "Expected outputs computed by onnx " in text and "ml_dtypes " in text


def test_min_pass_exits_1_when_below(tmp_path):
    r = suite_cli("reference", "-k", r"^test_(abs|loop16_seq_none|gradient_of_add)_cpu$",
                  "--min-pass", "0.5")
    assert r.returncode == 1
    assert "1 passed, 1 failed, 1 unsupported, 0 skipped of 3" in r.stdout and "below --min-pass" in r.stderr


CRASHY = """
import os, time
from onnxhub import hookimpl, BackendSpec
from onnxhub.backend.reference import ReferenceBackend


class CrashyBackend(ReferenceBackend):
    name = "crashy"

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        ops = {n.op_type for n in model.graph.node}
        if "Abs" in ops:
            os._exit(3)  # the worker dies mid-case
        if "Relu" in ops:
            time.sleep(60)  # the worker hangs
        if "Neg" in ops:
            print("garbage on stdout must not corrupt the protocol")
        return super().prepare(model, device)


@hookimpl
def register_backends(register):
    register(BackendSpec(name="crashy", summary="crashes on Abs, hangs on Relu",
                         target="fakeplug_crashy:CrashyBackend"))
"""


def test_crash_and_hang_are_failures_not_lost_cases(plugin_site):
    install_fake_plugin(plugin_site, "crashy-plugin", "crashy", "fakeplug_crashy", CRASHY)
    r = suite_cli("crashy", "-k", r"^test_(abs|relu|neg|add)_cpu$", "-j", "1", "--timeout", "8", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    outcome = {c["name"]: c for c in data["cases"]}
    assert data["total"] == 4
    assert outcome["test_abs_cpu"]["outcome"] == "failed" and "exit code 3" in outcome["test_abs_cpu"]["message"]
    assert outcome["test_relu_cpu"]["outcome"] == "failed" and "timed out" in outcome["test_relu_cpu"]["message"]
    assert outcome["test_neg_cpu"]["outcome"] == "passed"
    assert outcome["test_add_cpu"]["outcome"] == "passed"


def test_bad_report_suffix_is_usage_error(tmp_path):
    r = suite_cli("reference", "--report", tmp_path / "r.txt")
    assert r.returncode == 2 and "--report must end in" in r.stderr
    r = suite_cli("reference", "--report", tmp_path)  # a folder: the message names what it got
    assert r.returncode == 2 and f"got {str(tmp_path)!r} (no suffix)" in r.stderr and "nothing" not in r.stderr


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_jobs_below_one_is_usage_error(jobs):
    r = suite_cli("reference", "-k", "^test_abs_cpu$", "-j", jobs)
    assert r.returncode == 2 and f"-j must be 1 or more, not {jobs}" in r.stderr and len(r.stderr.splitlines()) == 1


# A backend whose conformance workers start slowly, crash or hang while starting, as
# FAKEPLUG_STARTUP says ("sleep:SECONDS" or "exit:CODE"); the parent process that
# lists and checks the backend loads the plugin at once.
SLOW_START = """
import os, sys, time
from onnxhub import hookimpl, BackendSpec

if sys.argv[0].endswith("worker.py"):
    mode, _, arg = os.environ.get("FAKEPLUG_STARTUP", "").partition(":")
    if mode == "sleep":
        time.sleep(float(arg))
    elif mode == "exit":
        sys.stderr.write("fakeplug: cannot start\\n")
        sys.stderr.flush()
        os._exit(int(arg))


@hookimpl
def register_backends(register):
    register(BackendSpec(name="slowstart", summary="the reference backend behind a slow start",
                         target="onnxhub.backend.reference:ReferenceBackend"))
"""


def test_slow_worker_start_does_not_count_against_the_case_timeout(plugin_site, monkeypatch):
    install_fake_plugin(plugin_site, "slowstart-plugin", "slowstart", "fakeplug_slowstart", SLOW_START)
    monkeypatch.setenv("FAKEPLUG_STARTUP", "sleep:20")
    r = suite_cli("slowstart", "-k", r"^test_(abs|relu)_cpu$", "-j", "1", "--timeout", "5", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["total"] == 2 == data["passed"], data["cases"]


def test_worker_that_cannot_start_fails_every_case(plugin_site, monkeypatch):
    install_fake_plugin(plugin_site, "slowstart-plugin", "slowstart", "fakeplug_slowstart", SLOW_START)
    monkeypatch.setenv("FAKEPLUG_STARTUP", "exit:4")
    r = suite_cli("slowstart", "-k", r"^test_(abs|add|neg|relu)_cpu$", "-j", "1", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["total"] == 4 == data["failed"]
    first, second, *rest = (c["message"] for c in data["cases"])
    for message in (first, second):
        assert message.startswith("worker start-up failed: worker crashed (exit code 4)")
        assert "fakeplug: cannot start" in message
    for message in rest:  # after two failed starts in a row, no more are tried
        assert message.startswith("not run: workers cannot start (worker start-up failed")


def test_worker_that_hangs_at_start_up_fails_its_cases(plugin_site, monkeypatch):
    from onnxhub.conformance.runner import run_suite

    install_fake_plugin(plugin_site, "slowstart-plugin", "slowstart", "fakeplug_slowstart", SLOW_START)
    monkeypatch.setenv("FAKEPLUG_STARTUP", "sleep:3600")
    data = run_suite("slowstart", pattern=r"^test_(abs|add|relu)_cpu$", jobs=2, timeout=5, startup_timeout=2)
    assert data["total"] == 3 == data["failed"]
    messages = [c["message"] for c in data["cases"]]
    assert sum(m.startswith("worker start-up failed: timed out after 2 s") for m in messages) >= 2
    assert all("start-up failed" in m for m in messages)


def test_a_backend_spec_env_reaches_its_conformance_workers_and_pins_the_reference_blas():
    # the reference's squeezenet passed on an AVX-512 EPYC and failed on an AVX2 one: OpenBLAS's kernel
    # and threads decide an ill-conditioned case, so its conformance workers pin both
    from onnxhub.conformance.runner import _spec_env
    from onnxhub.specs import BackendSpec

    env = _spec_env("reference")
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    if "OPENBLAS_CORETYPE" in env:
        assert env["OPENBLAS_CORETYPE"] == "Haswell"
    assert _spec_env("onnxruntime.backend:") == {}  # a module path has no spec
    with pytest.raises(TypeError, match="env must be"):
        BackendSpec(name="b", summary="s", target="m:B", env=("X", "1"))
