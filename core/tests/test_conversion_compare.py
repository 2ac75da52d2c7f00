"""``onnxhub.conversion``: the comparison ``--verify`` prints, and the seeded inputs it runs both sides on."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from onnxhub.conversion import compare, seeded_inputs
from onnxhub.errors import UsageError


def _row(want, got, rtol=1e-3, atol=1e-4):
    (row,) = compare(["y"], [np.asarray(want)], [np.asarray(got)], rtol, atol, "a", "b")
    return row


def test_relative_difference_is_relative_to_the_outputs_magnitude():
    """Saturated probabilities: elements near zero made the old per-element ratio absurd (1e+265)."""
    want = np.array([1.0, 1e-300, 0.0], np.float64)
    got = np.array([1.0, 2e-8, 3e-9])
    row = _row(want, got)
    assert row["ok"] and row["note"] == ""
    assert row["scale"] == 1.0 and row["max_abs"] == pytest.approx(2e-8)
    assert row["max_rel"] == pytest.approx(2e-8)  # 2e-8 / max|want|, not 2e-8 / 1e-300


def test_outputs_below_atol_pass_with_a_note_saying_the_check_says_nothing():
    want = np.full(4, 3e-7, np.float32)
    got = -want  # the opposite sign, yet within atol
    row = _row(want, got)
    assert row["ok"], row  # the pass rule stays numpy.allclose
    assert "below atol" in row["note"], row
    assert row["max_rel"] == pytest.approx(2.0)  # and the relative difference shows how wrong it is


def test_beyond_tolerance_fails_and_says_so():
    row = _row(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert not row["ok"] and "beyond" in row["note"]
    assert row["max_rel"] == pytest.approx(0.05)


def test_equal_infinities_and_nans_differ_by_nothing():
    row = _row(np.array([np.inf, np.nan, 1.0]), np.array([np.inf, np.nan, 1.0]))
    assert row["ok"] and row["max_abs"] == 0 and row["max_rel"] == 0 and row["scale"] == 1.0


def test_all_zero_output_has_no_relative_difference_and_a_note():
    row = _row(np.zeros(3, np.float32), np.zeros(3, np.float32))
    assert row["ok"] and row["max_abs"] == 0 and row["max_rel"] == 0 and "below atol" in row["note"]


def test_integer_outputs_have_no_below_atol_note():
    row = _row(np.zeros(3, np.int64), np.zeros(3, np.int64))
    assert row["ok"] and row["note"] == ""


def _model(*dims):
    x = helper.make_tensor_value_info("data", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))
    return helper.make_model(helper.make_graph([helper.make_node("Relu", ["data"], ["y"])], "g", [x], [y]))


def test_seeded_inputs_make_the_batch_and_sequence_axes_one():
    assert seeded_inputs(_model("batch", 3, 4), 0)["data"].shape == (1, 3, 4)
    assert seeded_inputs(_model("N", 3, 4), 0)["data"].shape == (1, 3, 4)
    assert seeded_inputs(_model("sequence", "batch", 5), 0)["data"].shape == (1, 1, 5)  # CNTK's sequence axis


def test_seeded_inputs_refuse_to_guess_other_free_dims():
    with pytest.raises(UsageError) as err:
        seeded_inputs(_model("batch", 1, "data_dim2", "data_dim3"), 0)
    message = str(err.value)
    assert "--input-shape data=1,1,?,?" in message and "dimension(s) 2, 3" in message, message
    assert len(message.splitlines()) == 1
