"""The exporter kit's opset-aware forms: each helper, at the opsets around its form change,
gives a model onnx.checker accepts (full check) and that onnx.reference and ONNX Runtime
run to numpy's answer."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator

from onnxhub.errors import UnsupportedOperator
from onnxhub.export import GraphBuilder, with_initializers

OPSETS = [13, 17, 21]  # the MXNet exporter's window, and both sides of the opset-18 changes
OLD_OPSETS = [10, 11, 12]  # the attribute forms, for exporters that target older opsets

X = np.arange(2 * 6 * 3 * 4, dtype=np.float32).reshape(2, 6, 3, 4) / 10 - 7


def build(opset, fn):
    """``fn(g, x) -> outputs`` on a float input x: (2, 6, 3, 4); the full model."""
    g = GraphBuilder(opset)
    x = g.add_input("x", TensorProto.FLOAT, ["batch", 6, 3, 4])
    outs = fn(g, x)
    outs = [outs] if isinstance(outs, str) else outs
    return with_initializers(*g.finish(outs, "test"))


def run_everywhere(model, feeds):
    """The outputs of onnx.reference and ONNX Runtime, checked equal; either may be missing.

    onnx.reference reads Resize-10's (X, scales) as Resize-11's (X, roi), so it sits out there.
    """
    onnx.checker.check_model(model, full_check=True)
    old_resize = model.opset_import[0].version < 11 and any(n.op_type == "Resize" for n in model.graph.node)
    results = [] if old_resize else [ReferenceEvaluator(model).run(None, feeds)]
    try:
        import onnxruntime as ort
    except ImportError:  # a test dependency; onnx.reference alone still judges
        ort = None
    if ort is not None:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        results.append(sess.run(None, feeds))
    assert results, "neither onnx.reference nor onnxruntime can run this model"
    for other in results[1:]:
        for ours, theirs in zip(results[0], other):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    return results[0]


def nearest_up(x, s):  # asymmetric nearest with floor: index // s
    return x.repeat(s, axis=2).repeat(s, axis=3)


CASES = {
    "reduce_sum": (lambda g, x: g.reduce("ReduceSum", x, [1], keepdims=0), lambda x: [x.sum(axis=1)]),
    "reduce_mean": (lambda g, x: g.reduce("ReduceMean", x, [0, 2]), lambda x: [x.mean(axis=(0, 2), keepdims=True)]),
    "reduce_max_all": (lambda g, x: g.reduce("ReduceMax", x, None, keepdims=0), lambda x: [np.array(x.max())]),
    "reduce_l2": (lambda g, x: g.reduce("ReduceL2", x, [-1]),
                  lambda x: [np.sqrt((x * x).sum(axis=-1, keepdims=True))]),
    "squeeze_unsqueeze": (lambda g, x: [g.squeeze(g.unsqueeze(x, [0, 5]), [0]), g.squeeze(g.unsqueeze(x, [2]), [2])],
                          lambda x: [x[..., None], x]),
    "split_equal": (lambda g, x: g.split(x, 1, parts=3), lambda x: np.split(x, 3, axis=1)),
    "split_sizes": (lambda g, x: g.split(x, -1, sizes=[1, 3]), lambda x: [x[..., :1], x[..., 1:]]),
    "slice": (lambda g, x: [g.slice(x, [1, 0], [None, -1], axes=[1, 3]), g.slice(x, [0, 5], [1, 0], steps=[1, -2])],
              lambda x: [x[:, 1:, :, :-1], x[0:1, 5:0:-2]]),
    "clip": (lambda g, x: [g.clip(x, -1.5, 2.0), g.clip(x, lo=0.0), g.clip(x, hi=g.const(np.float32(1.0)))],
             lambda x: [np.clip(x, -1.5, 2.0), np.maximum(x, 0), np.minimum(x, 1)]),
    "pad_constant": (lambda g, x: g.pad(x, [0, 1, 0, 2, 0, 0, 1, 0], value=1.5),
                     lambda x: [np.pad(x, [(0, 0), (1, 0), (0, 1), (2, 0)], constant_values=1.5)]),
    "pad_axes_edge": (lambda g, x: g.pad(x, [1, 2, 0, 1], mode="edge", axes=[1, -1]),
                      lambda x: [np.pad(x, [(0, 0), (1, 0), (0, 0), (2, 1)], mode="edge")]),
    "resize_scales": (lambda g, x: g.resize(x, scales=[1, 1, 2, 2], mode="nearest"), lambda x: [nearest_up(x, 2)]),
    "resize_axes": (lambda g, x: g.resize(x, scales=[3, 3], axes=[2, 3], mode="nearest"), lambda x: [nearest_up(x, 3)]),
    "cast_like": (lambda g, x: g.cast_like(g.one("Greater", [x, g.scalar_like(0.5, x)]), x),
                  lambda x: [(x > 0.5).astype(np.float32)]),
}


@pytest.mark.parametrize("opset", OPSETS + OLD_OPSETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_form_runs_and_matches_numpy(case, opset):
    fn, want = CASES[case]
    model = build(opset, fn)
    assert model.opset_import[0].version == opset
    got = run_everywhere(model, {"x": X})
    expected = want(X)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("opset", OPSETS + [11])
def test_resize_to_sizes_on_some_axes(opset):
    # Below 18 the sizes of the other axes come from the input's shape, batch dim included.
    model = build(opset, lambda g, x: g.resize(x, sizes=[6, 8], axes=[2, 3], mode="nearest",
                                               coordinate_transformation_mode="asymmetric"))
    (y,) = run_everywhere(model, {"x": X})
    np.testing.assert_allclose(y, nearest_up(X, 2))


@pytest.mark.parametrize("opset", [12, 13, 18])
def test_attribute_and_input_forms(opset):
    """The form itself: attributes before the change, inputs after it."""
    g = GraphBuilder(opset)
    x = g.add_input("x", TensorProto.FLOAT, [2, 3])
    g.reduce("ReduceMean", x, [1])
    g.reduce("ReduceSum", x, [1])
    g.unsqueeze(x, [0])
    forms = {n.op_type: ([a.name for a in n.attribute], len(n.input)) for n in g.nodes}
    assert ("axes" in forms["ReduceMean"][0]) == (opset < 18)
    assert ("axes" in forms["ReduceSum"][0]) == (opset < 13)
    assert forms["Unsqueeze"][1] == (1 if opset < 13 else 2)


def test_cast_like_before_15_uses_the_known_dtype():
    g = GraphBuilder(13)
    x = g.add_input("x", TensorProto.DOUBLE, [2])
    flag = g.one("Less", [x, g.scalar_like(1.0, x)])
    y = g.cast_like(flag, x)
    assert g.constants[g.nodes[0].input[1]].dtype == np.float64  # scalar_like: a float64 constant
    assert [a.i for a in g.nodes[-1].attribute if a.name == "to"] == [TensorProto.DOUBLE]
    (out,) = run_everywhere(with_initializers(*g.finish([y])), {"x": np.array([0.5, 2.0])})
    assert out.dtype == np.float64 and list(out) == [1.0, 0.0]


def test_old_attribute_forms_need_constant_bounds():
    g = GraphBuilder(10)
    x = g.add_input("x", TensorProto.FLOAT, [2])
    g.at("relu_n", "act0")
    with pytest.raises(UnsupportedOperator, match="relu_n.*computed tensor.*node 'act0'"):
        g.clip(x, lo=g.one("Neg", [x]))
    assert g.clip(x, lo=g.const(np.float32(0.0))) and g.nodes[-1].attribute[0].name == "min"
