"""The reference backend's overrides of onnx.reference (onnxhub.backend.reference_ops)."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxhub
from onnxhub.backend.reference_ops import OVERRIDES, new_ops

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, opset, inits=(), ir_version=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version or min(onnx.IR_VERSION, 8 if opset <= 17 else onnx.IR_VERSION)
    return model


def _run(model, *inputs):
    return onnxhub.get_backend("reference").prepare(model).run(list(inputs))


def _ort(model, *inputs):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: v for i, v in zip(session.get_inputs(), inputs)})


def batchnorm_model(opset, momentum=0.9):
    rng = np.random.default_rng(0)
    params = {"scale": rng.uniform(0.5, 1.5, 3), "bias": rng.standard_normal(3),
              "mean": rng.standard_normal(3), "var": rng.uniform(0.5, 2.0, 3)}
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in params.items()]
    attrs = {"epsilon": 1e-5} if momentum is None else {"epsilon": 1e-5, "momentum": momentum}
    node = helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], **attrs)
    model = _model([node], [helper.make_tensor_value_info("x", F, [2, 3, 4, 4])],
                   [helper.make_tensor_value_info("y", F, [2, 3, 4, 4])], opset, inits)
    return model, {k: v.astype(np.float32).reshape(3, 1, 1) for k, v in params.items()}


@pytest.mark.parametrize("opset", [7, 9, 11, 13, 14, 15])
@pytest.mark.parametrize("momentum", [0.9, None])
def test_batchnorm_with_momentum_runs_in_inference(opset, momentum):
    """Converters write ``momentum`` (PaddlePaddle's OCR models at opset 11); it must not mean training."""
    model, p = batchnorm_model(opset, momentum)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(np.float32) * 3 + 1
    (y,) = _run(model, x)
    want = p["scale"] * (x - p["mean"]) / np.sqrt(p["var"] + 1e-5) + p["bias"]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [9, 11, 14])
def test_batchnorm_with_momentum_matches_onnxruntime(opset):
    model, _ = batchnorm_model(opset)
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4)).astype(np.float32) * 3 + 1
    (got,) = _run(model, x)
    (want,) = _ort(model, x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_batchnorm_training_outputs_still_use_batch_statistics():
    model, p = batchnorm_model(9)
    del model.graph.output[:]
    names = ["y", "running_mean", "running_var", "saved_mean", "saved_var"]
    model.graph.node[0].output[:] = names
    model.graph.output.extend([helper.make_tensor_value_info(n, F, [2, 3, 4, 4] if n == "y" else [3]) for n in names])
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    y, running_mean, _, saved_mean, saved_var = _run(model, x)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(saved_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(saved_var, var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(running_mean, p["mean"].ravel() * 0.9 + mean * 0.1, rtol=1e-5, atol=1e-6)
    want = p["scale"] * (x - mean.reshape(3, 1, 1)) / np.sqrt(var.reshape(3, 1, 1) + 1e-5) + p["bias"]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset", [9, 10])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_scatter_is_scatter_elements(opset, axis):
    data = np.zeros((3, 3), np.float32)
    indices = np.array([[1, 0, 2], [0, 2, 1]], np.int64)
    updates = np.array([[1.0, 1.1, 1.2], [2.0, 2.1, 2.2]], np.float32)
    attrs = {} if axis is None else {"axis": axis}
    model = _model([helper.make_node("Scatter", ["data", "indices", "updates"], ["y"], **attrs)],
                   [helper.make_tensor_value_info("data", F, [3, 3]),
                    helper.make_tensor_value_info("indices", TensorProto.INT64, [2, 3]),
                    helper.make_tensor_value_info("updates", F, [2, 3])],
                   [helper.make_tensor_value_info("y", F, [3, 3])], opset)
    (got,) = _run(model, data, indices, updates)
    want = data.copy()
    ax = axis or 0
    for i, j in np.ndindex(indices.shape):
        want[(indices[i, j], j) if ax == 0 else (i, indices[i, j])] = updates[i, j]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("mode", "channels"), [("RGB", 3), ("BGR", 3), ("Grayscale", 1)])
def test_image_decoder_decodes_a_png_made_with_pillow(mode, channels):
    from PIL import Image

    pixels = np.random.default_rng(4).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    encoded = np.frombuffer(buf.getvalue(), np.uint8)
    model = _model([helper.make_node("ImageDecoder", ["data"], ["image"], pixel_format=mode)],
                   [helper.make_tensor_value_info("data", TensorProto.UINT8, [encoded.size])],
                   [helper.make_tensor_value_info("image", TensorProto.UINT8, ["h", "w", "c"])], 20, ir_version=9)
    (image,) = _run(model, encoded)
    if mode == "RGB":
        np.testing.assert_array_equal(image, pixels)
    elif mode == "BGR":
        np.testing.assert_array_equal(image, pixels[:, :, ::-1])
    else:
        want = np.asarray(Image.fromarray(pixels, "RGB").convert("L"))[:, :, None]
        np.testing.assert_array_equal(image, want)
    assert image.shape == (5, 7, channels)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "Hardmax"])
@pytest.mark.parametrize("opset", [9, 11, 13])
def test_softmax_family_coerces_to_2d_before_opset_13(op, opset):
    x = np.random.default_rng(5).standard_normal((2, 5, 1, 1)).astype(np.float32)
    model = _model([helper.make_node(op, ["x"], ["y"])], [helper.make_tensor_value_info("x", F, [2, 5, 1, 1])],
                   [helper.make_tensor_value_info("y", F, [2, 5, 1, 1])], opset)
    (got,) = _run(model, x)
    flat = x.reshape(2, 5) if opset < 13 else x.reshape(10, 1)  # opset 13: along the last axis (size 1)
    e = np.exp(flat - flat.max(axis=1, keepdims=True))
    want = {"Softmax": e / e.sum(axis=1, keepdims=True),
            "LogSoftmax": np.log(e / e.sum(axis=1, keepdims=True)),
            "Hardmax": (flat == flat.max(axis=1, keepdims=True)).astype(np.float32)}[op]
    np.testing.assert_allclose(got, want.reshape(x.shape), rtol=1e-5, atol=1e-6)


def _loop_model(body_value_shape, opset=16):
    # scan output: the counter (a scalar) or a broadcast of it (a matrix) per iteration
    i = helper.make_tensor_value_info("i", TensorProto.INT64, [])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    nodes = [helper.make_node("Identity", ["cond"], ["cond_out"]),
             helper.make_node("Cast", ["i"], ["fi"], to=F)]
    if body_value_shape:
        nodes.append(helper.make_node("Expand", ["fi", "shape"], ["v"]))
    else:
        nodes.append(helper.make_node("Identity", ["fi"], ["v"]))
    body = helper.make_graph(nodes, "body", [i, cond], [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                                                        helper.make_tensor_value_info("v", F, body_value_shape)])
    inits = [numpy_helper.from_array(np.array(body_value_shape or [1], np.int64), "shape")]
    loop = helper.make_node("Loop", ["M", ""], ["scan"], body=body)
    return _model([loop], [helper.make_tensor_value_info("M", TensorProto.INT64, [])],
                  [helper.make_tensor_value_info("scan", F, ["n", *body_value_shape])], opset, inits)


@pytest.mark.parametrize("shape", [[], [2, 3]])
def test_loop_stacks_scan_outputs(shape):
    model = _loop_model(shape)
    (got,) = _run(model, np.array(3, np.int64))
    want = np.stack([np.full(shape, k, np.float32) for k in range(3)])
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    (want_ort,) = _ort(model, np.array(3, np.int64))
    np.testing.assert_array_equal(got, want_ort)


def test_loop_zero_trips_gives_an_empty_scan_output():
    (got,) = _run(_loop_model([2, 3]), np.array(0, np.int64))
    assert got.shape == (0, 2, 3) and got.dtype == np.float32


def test_optional_holds_the_value_itself():
    seq_type = helper.make_sequence_type_proto(helper.make_tensor_type_proto(F, [2]))
    nodes = [helper.make_node("SequenceConstruct", ["x"], ["seq"]), helper.make_node("Optional", ["seq"], ["opt"]),
             helper.make_node("OptionalGetElement", ["opt"], ["got"]),
             helper.make_node("Optional", [], ["empty"], type=seq_type),
             helper.make_node("OptionalHasElement", ["empty"], ["has"])]
    model = _model(nodes, [helper.make_tensor_value_info("x", F, [2])],
                   [helper.make_value_info("got", seq_type), helper.make_tensor_value_info("has", TensorProto.BOOL, [])],
                   18)
    x = np.array([1.0, 2.0], np.float32)
    got, has = _run(model, x)
    assert isinstance(got, list) and len(got) == 1
    np.testing.assert_array_equal(got[0], x)
    assert not bool(has)


def _sum_body(width):
    return helper.make_graph(
        [helper.make_node("Add", ["s", "x"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["y"])], "body",
        [helper.make_tensor_value_info("s", F, [width]), helper.make_tensor_value_info("x", F, [width])],
        [helper.make_tensor_value_info("s_out", F, [width]), helper.make_tensor_value_info("y", F, [width])])


def test_scan_8_with_batch_axis_and_sequence_lens():
    body = _sum_body(2)
    node = helper.make_node("Scan", ["lens", "init", "xs"], ["final", "ys"], body=body, num_scan_inputs=1)
    model = _model([node], [helper.make_tensor_value_info("lens", TensorProto.INT32, [2]),
                            helper.make_tensor_value_info("init", F, [2, 2]),
                            helper.make_tensor_value_info("xs", F, [2, 3, 2])],
                   [helper.make_tensor_value_info("final", F, [2, 2]), helper.make_tensor_value_info("ys", F, [2, 3, 2])], 8)
    init = np.zeros((2, 2), np.float32)
    xs = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    final, ys = _run(model, np.array([3, 3], np.int32), init, xs)
    np.testing.assert_array_equal(final, xs.sum(axis=1))
    np.testing.assert_array_equal(ys, np.cumsum(xs, axis=1))


@pytest.mark.parametrize(("in_axis", "in_dir", "out_axis", "out_dir"), [(0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1),
                                                                       (-1, 1, -1, 0)])
def test_scan_9_honours_axes_and_directions(in_axis, in_dir, out_axis, out_dir):
    body = _sum_body(2)
    node = helper.make_node("Scan", ["init", "xs"], ["final", "ys"], body=body, num_scan_inputs=1,
                            scan_input_axes=[in_axis], scan_input_directions=[in_dir],
                            scan_output_axes=[out_axis], scan_output_directions=[out_dir])
    shape = [3, 2] if in_axis == 0 else [2, 3]
    model = _model([node], [helper.make_tensor_value_info("init", F, [2]), helper.make_tensor_value_info("xs", F, shape)],
                   [helper.make_tensor_value_info("final", F, [2]), helper.make_tensor_value_info("ys", F, ["a", "b"])], 16)
    init = np.zeros(2, np.float32)
    xs = np.arange(6, dtype=np.float32).reshape(shape)
    got = _run(model, init, xs)
    want = _ort(model, init, xs)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_overrides_are_picked_per_opset():
    def names(opset):
        return {cls.__name__ for cls in new_ops(_model([], [], [], opset))}

    assert {"BatchNormalization", "Scatter", "Softmax"} <= names(9)
    assert "BatchNormalization" not in names(14) and "Softmax" not in names(13)
    assert "Scatter" not in names(8)
    for cls in new_ops(_model([], [], [], 11)):
        assert cls.op_domain == "" and cls.op_schema.since_version <= 11
        assert cls.__doc__  # each override says what it corrects
    assert all(entry.fn.__doc__ for entry in OVERRIDES.entries())


def test_global_max_pool_on_3d_input_keeps_channels():
    """onnx.reference reduces the last two axes whatever the rank (a file-type classifier hit it)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from onnxhub.backend.reference import ReferenceBackend

    graph = helper.make_graph([helper.make_node("GlobalMaxPool", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    got = ReferenceBackend.prepare(model).run([x])[0]
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, want)


def test_domains_count_only_where_nodes_use_them():
    """Converters import ai.onnx.ml and never use it; a used foreign domain is named with its ops."""
    from onnx import TensorProto, helper

    from onnxhub.backend.base import check_domains
    from onnxhub.errors import UnsupportedModel

    io = ([helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    declared = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", *io),
                                 opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    check_domains(declared, backend="b", domains=("",))  # no node of ai.onnx.ml: accepted
    used = helper.make_model(helper.make_graph([helper.make_node("Fused", ["x"], ["y"], domain="com.acme")], "g",
                                               *io),
                             opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.acme", 1)])
    with pytest.raises(UnsupportedModel, match=r"'com.acme' \(Fused\)"):
        check_domains(used, backend="b", domains=("", "ai.onnx"))
