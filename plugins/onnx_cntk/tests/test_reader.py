"""The pure-Python `.model` reader against what real CNTK 2.7 reports for the same file."""

import numpy as np
import pytest
from onnxhub_cntk.formats.model import read_model

RECIPES = ("mlp", "cnn", "lstm")


@pytest.fixture(scope="module")
def saved(cntk, tmp_path_factory):
    """``{recipe: (path, CNTK's report, CNTK's arrays)}``, each model built and saved once by CNTK."""
    folder = tmp_path_factory.mktemp("cntk_models")
    out = {}
    for seed, name in enumerate(RECIPES):
        path = folder / f"{name}.model"
        report, arrays = cntk.call("build", {"name": name, "path": str(path), "seed": seed})
        out[name] = (path, report, arrays)
    return out


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("name", RECIPES)
def test_graph_structure(saved, name):
    path, report, _ = saved[name]
    model = read_model(path)
    assert model.root == report["root"]
    assert model.outputs == report["outputs"]
    top = {f.uid: f for f in model.top_level()}
    assert set(top) == {f["uid"] for f in report["functions"]}
    for want in report["functions"]:
        fn = top[want["uid"]]
        assert (fn.block.op_name if fn.block else fn.op) == want["op"], want["uid"]
        assert fn.name == want["name"]
        assert fn.outputs == want["outputs"]
        assert (fn.block is not None) == want["is_block"]
        # CNTK lists a block's inputs with its parameters first; the reader keeps the stored order.
        assert sorted(fn.inputs) == sorted(want["inputs"])
        if fn.block:
            assert fn.block.root == want["root"]
            # CNTK gives a loaded block's placeholders fresh uids: compare what they stand for.
            assert sorted(fn.block.arguments.values()) == sorted(want["arguments"].values())
            assert all(model.variables[p].kind == "placeholder" for p in fn.block.arguments)
            assert sorted(g.uid for g in model.body(fn)) == want["body"]


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("name", RECIPES)
def test_variables_and_exact_values(saved, name):
    path, report, arrays = saved[name]
    model = read_model(path)
    (arg,) = model.arguments
    want = report["argument"]
    assert (arg.uid, arg.name, list(arg.shape)) == (want["uid"], want["name"], want["shape"])
    assert sorted(a.name for a in arg.dynamic_axes) == sorted(want["dynamic_axes"])
    assert arg.has_batch_axis and arg.has_sequence_axis == (name == "lstm")
    stored = {v.uid: v for v in model.parameters + model.constants}
    assert set(stored) == set(report["variables"])
    for uid, info in report["variables"].items():
        var = stored[uid]
        assert (var.kind, var.name, list(var.shape)) == (info["kind"], info["name"], info["shape"]), uid
        value = arrays["value:" + uid]
        assert var.value.dtype == np.float32 and var.value.shape == value.shape, uid
        np.testing.assert_array_equal(var.value, value, err_msg=uid)
    assert any(np.ptp(v.value) > 0 for v in model.parameters)  # seeded weights, not an all-zero init


@pytest.mark.runtime("cntk")
def test_cnn_attributes_keep_stored_order(saved):
    path, _, _ = saved["cnn"]
    model = read_model(path)
    (conv,) = [f for f in model.functions.values() if f.op == "Convolution"]
    # Convolution2D((3, 3), 4) on 2 channels: kernel (C++ order) W, H, C; padding on W and H only.
    assert conv.attributes["kernelShape"] == (3, 3, 2)
    assert conv.attributes["autoPadding"] == [True, True, False]
    assert conv.attributes["transpose"] is False
    (bn,) = [f for f in model.functions.values() if f.op == "BatchNormalization"]
    assert bn.attributes["spatial"] is True and bn.attributes["epsilon"] == pytest.approx(1e-5)
    (pool,) = [f for f in model.functions.values() if f.op == "Pooling"]
    assert pool.attributes["poolingWindowShape"] == (2, 2) and pool.attributes["strides"] == (2, 2)


@pytest.mark.runtime("cntk")
def test_lstm_recurrence_is_cut_at_the_delays(saved):
    path, _, _ = saved["lstm"]
    model = read_model(path)
    order = [f.uid for f in model.top_level()]
    (lstm,) = [f for f in model.functions.values() if f.block and f.block.op_name == "LSTM"]
    delays = [f for f in model.functions.values() if f.op == "PastValue"]
    assert len(delays) == 2 and len(lstm.outputs) == 2
    for delay in delays:
        assert model.producer(delay.inputs[0])[0] is lstm  # h and c feed back into the cell
        assert order.index(delay.uid) < order.index(lstm.uid)
    body = [f.op for f in model.body(lstm)]
    assert body.count("StableSigmoid") == 3 and body.count("Tanh") == 2 and body[-1] == "Combine"
    (last,) = [f for f in model.top_level() if f.block and f.block.op_name == "Sequence::Slice"]
    inner = [f.op for f in model.body(last)]
    # sequence.last: FutureValue / Where / PackedIndex / GatherPacked / ReconcileDynamicAxis
    assert inner.index("ReconcileDynamicAxis") < inner.index("FutureValue") < inner.index("GatherPacked")


@pytest.mark.runtime("cntk")
@pytest.mark.parametrize("name", RECIPES)
def test_truncated_real_files_are_invalid(saved, name, tmp_path):
    from onnxhub.errors import InvalidModel

    data = saved[name][0].read_bytes()
    for cut in sorted({1, 7, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1}):
        bad = tmp_path / f"cut{cut}.model"
        bad.write_bytes(data[:cut])
        with pytest.raises(InvalidModel) as err:
            read_model(bad)
        assert "\n" not in str(err.value) and str(bad) in str(err.value)
