import json

import pytest

from onnxhub.conformance.cases import collect, operator_of

from conftest import install_fake_plugin, run_cli


def test_collect_counts_every_kind():
    cases = collect("cpu")
    kinds = {c.kind for c in cases}
    assert kinds == {"node", "real", "simple", "pytorch-converted", "pytorch-operator"}
    assert len(cases) > 1500 and len({c.name for c in cases}) == len(cases)
    assert all(c.name.endswith("_cpu") for c in cases)


@pytest.mark.parametrize("name, ops, expected", [
    ("test_conv_with_strides", ["Conv"], "Conv"),
    ("test_convtranspose_1d", ["ConvTranspose"], "ConvTranspose"),
    ("test_softmax_axis_0_expanded", ["Constant", "ReduceMax", "Sub", "Exp"], "Constant"),
])
def test_operator_of(name, ops, expected):
    assert operator_of(name, ops) == expected


def test_test_backend_json_report_shape(tmp_path):
    report = tmp_path / "r.json"
    r = run_cli("test-backend", "reference", "-k", r"^test_(abs|relu|add)_cpu$", "-j", "2", "--json",
                "--report", report)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"backend", "onnx_version", "total", "passed", "failed", "skipped", "pass_rate", "cases"} <= set(data)
    assert data["total"] == 3 == data["passed"] and data["pass_rate"] == 1.0
    assert set(data["cases"][0]) >= {"name", "kind", "outcome", "seconds", "message"}
    assert json.loads(report.read_text())["total"] == 3


def test_markdown_and_html_reports(tmp_path):
    for suffix in (".md", ".html"):
        out = tmp_path / f"r{suffix}"
        r = run_cli("test-backend", "reference", "-k", r"^test_(abs|scatter_with_axis)_cpu$", "--report", out)
        assert r.returncode == 0, r.stderr
        text = out.read_text()
        assert "Abs" in text and "test_scatter_with_axis_cpu" in text  # a known reference failure is listed


def test_min_pass_exits_1_when_below(tmp_path):
    r = run_cli("test-backend", "reference", "-k", r"^test_(abs|scatter_with_axis)_cpu$", "--min-pass", "0.9")
    assert r.returncode == 1
    assert "1 passed, 1 failed" in r.stdout and "below --min-pass" in r.stderr


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
    r = run_cli("test-backend", "crashy", "-k", r"^test_(abs|relu|neg|add)_cpu$", "-j", "1", "--timeout", "8", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    outcome = {c["name"]: c for c in data["cases"]}
    assert data["total"] == 4
    assert outcome["test_abs_cpu"]["outcome"] == "failed" and "exit code 3" in outcome["test_abs_cpu"]["message"]
    assert outcome["test_relu_cpu"]["outcome"] == "failed" and "timed out" in outcome["test_relu_cpu"]["message"]
    assert outcome["test_neg_cpu"]["outcome"] == "passed"
    assert outcome["test_add_cpu"]["outcome"] == "passed"


def test_bad_report_suffix_is_usage_error(tmp_path):
    r = run_cli("test-backend", "reference", "--report", tmp_path / "r.txt")
    assert r.returncode == 2 and "--report must end in" in r.stderr
