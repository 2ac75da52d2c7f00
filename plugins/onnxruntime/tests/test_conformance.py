"""onnxhub's onnxruntime backend against ONNX Runtime's own `onnxruntime.backend`, same suite, same run."""

from onnxhub.conformance.runner import run_suite


def test_passes_at_least_as_many_cases_as_onnxruntime_backend():
    ours = run_suite("onnxruntime", jobs=2)
    theirs = run_suite("onnxruntime.backend:", jobs=2)
    assert ours["total"] == theirs["total"] > 2000
    ours_passed = {c["name"] for c in ours["cases"] if c["outcome"] == "passed"}
    theirs_passed = {c["name"] for c in theirs["cases"] if c["outcome"] == "passed"}
    print(f"onnxhub onnxruntime: {ours['passed']}/{ours['total']}; "
          f"onnxruntime.backend: {theirs['passed']}/{theirs['total']}")
    assert ours["passed"] >= theirs["passed"]
    assert not theirs_passed - ours_passed, sorted(theirs_passed - ours_passed)[:20]
