"""The one case runner: the same outcome for a case under test-backend and under pytest."""

import json
import re
import subprocess
import sys

import pytest

from onnxhub.backend.reference import ReferenceBackend
from onnxhub.conformance.case import CaseRunner
from onnxhub.errors import UnsupportedModel, UnsupportedOperator

from conftest import install_fake_plugin, run_cli

# Passes Abs and Add, is not supposed to implement Neg (at prepare) or Sigmoid (at run),
# refuses Relu (an op) and Softsign (the model), and fails test_loop16_seq_none_cpu
# as the reference backend does (onnx's runner cannot compare the 0-d tensor in its
# output sequence).
PICKY = """
from onnx.backend.test.runner import BackendIsNotSupposedToImplementIt
from onnxhub import hookimpl, BackendSpec
from onnxhub.backend.reference import ReferenceBackend
from onnxhub.errors import UnsupportedModel, UnsupportedOperator


class PickyRep:
    def __init__(self, rep, ops):
        self.rep, self.ops = rep, ops

    def run(self, inputs, **kwargs):
        if "Sigmoid" in self.ops:
            raise BackendIsNotSupposedToImplementIt("Sigmoid runs elsewhere")
        return self.rep.run(inputs, **kwargs)


class PickyBackend(ReferenceBackend):
    name = "picky"

    @classmethod
    def prepare(cls, model, device="CPU", **options):
        ops = {n.op_type for n in model.graph.node}
        if "Neg" in ops:
            raise BackendIsNotSupposedToImplementIt("Neg is not for this backend")
        if "Relu" in ops:
            raise UnsupportedOperator("Relu", where="picky backend")
        if "Softsign" in ops:
            raise UnsupportedModel("picky backend takes no model with Softsign")
        return PickyRep(super().prepare(model, device, **options), ops)


@hookimpl
def register_backends(register):
    register(BackendSpec(name="picky", summary="skips Neg and Sigmoid, refuses Relu and Softsign",
                         target="fakeplug_picky:PickyBackend"))
"""

CASES = r"^test_(abs|add|neg|sigmoid|relu|softsign|loop16_seq_none)_cpu$"


@pytest.fixture(scope="module")
def picky_runner():
    namespace = {"__name__": "picky_in_process"}
    exec(PICKY, namespace)  # the plugin's module, without installing it
    return CaseRunner(namespace["PickyBackend"])


@pytest.mark.parametrize("name, outcome", [
    ("test_abs_cpu", "passed"), ("test_neg_cpu", "skipped"), ("test_sigmoid_cpu", "skipped"),
    ("test_relu_cpu", "unsupported"), ("test_softsign_cpu", "unsupported"),
    ("test_loop16_seq_none_cpu", "failed"),
    ("test_no_such_case_cpu", "failed"),
])
def test_case_outcomes(picky_runner, name, outcome):
    assert picky_runner.run(name).outcome == outcome


def test_not_supposed_to_implement_is_a_skip_with_its_reason(picky_runner):
    r = picky_runner.run("test_neg_cpu")
    assert r.message == "backend not supposed to implement it: Neg is not for this backend"
    assert picky_runner.run("test_abs_cpu").outcome == "passed"  # the probe forgets the previous case


def test_failure_keeps_its_exception_class(picky_runner):
    refused = picky_runner.run("test_relu_cpu")
    assert refused.error is UnsupportedOperator and refused.unsupported
    assert refused.message.startswith("onnxhub.errors.UnsupportedOperator: unsupported operator Relu")
    assert "Traceback" in refused.traceback and "picky backend" in refused.traceback
    wrong = picky_runner.run("test_loop16_seq_none_cpu")
    assert wrong.error is not None and not wrong.unsupported
    refused_model = picky_runner.run("test_softsign_cpu")  # UnsupportedModel is "unsupported" too: one notion
    assert refused_model.error is UnsupportedModel and refused_model.unsupported


class RemoteFailure(ReferenceBackend):
    @classmethod
    def prepare(cls, model, device="CPU", **options):
        raise RuntimeError('MXNetError in runtime: Traceback (most recent call last):\n  File "op.h", line 9\n'
                           "MXNetError: Check failed: ndim\nsecond line\nthird line\nfourth line")


def test_message_starts_at_the_last_exception_line():
    r = CaseRunner(RemoteFailure).run("test_abs_cpu")
    assert r.error is RuntimeError and r.message == "MXNetError: Check failed: ndim | second line | third line"


def test_reference_backend_passes_plainly():
    r = CaseRunner(ReferenceBackend).run("test_add_cpu")
    assert (r.outcome, r.message, r.error) == ("passed", "", None) and r.seconds > 0


def _pytest_counts(tmp_path, *options) -> dict:
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--onnxhub-backend", "picky",
                        "--onnxhub-k", CASES, *options], capture_output=True, text=True, timeout=900, cwd=empty)
    last = r.stdout.strip().splitlines()[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", last)}
    assert r.returncode in (0, 1) and not {"errors", "error", "xpassed"} & set(counts), r.stdout + r.stderr
    return counts


def test_pytest_and_test_backend_count_alike(plugin_site, tmp_path):
    install_fake_plugin(plugin_site, "picky-plugin", "picky", "fakeplug_picky", PICKY)
    r = run_cli("test-backend", "picky", "-k", CASES, "-j", "1", "--json", timeout=900)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    expected = {"passed": 2, "failed": 1, "unsupported": 2, "skipped": 2}
    assert {k: data[k] for k in expected} == expected and data["total"] == 7
    assert {c["name"]: c["outcome"] for c in data["cases"]}["test_softsign_cpu"] == "unsupported"

    # Without the flag pytest fails unsupported cases like wrong ones: the same cases, counted alike.
    assert _pytest_counts(tmp_path) == {"passed": 2, "failed": 3, "skipped": 2}
    # With it, exactly the unsupported ones (UnsupportedOperator or UnsupportedModel) turn xfail, never pass.
    assert _pytest_counts(tmp_path, "--onnxhub-xfail-unsupported") == {"passed": 2, "failed": 1, "xfailed": 2,
                                                                       "skipped": 2}
