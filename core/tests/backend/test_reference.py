import unittest

import numpy as np
import onnx.backend.test
import pytest

import onnxhub
from onnxhub.errors import UnsupportedModel, UsageError


def test_get_backend_is_accepted_by_onnx_backend_test_unchanged():
    backend = onnxhub.get_backend("reference")
    suite = onnx.backend.test.BackendTest(backend, __name__)
    suite.include(r"^test_(abs|relu|conv_with_strides_padding)_cpu$")
    result = unittest.TextTestRunner(verbosity=0).run(unittest.TestLoader().loadTestsFromTestCase(suite.tests))
    assert result.wasSuccessful()
    assert result.testsRun - len(result.skipped) == 3  # the rest are excluded by include()


def test_run_api_with_list_and_dict_inputs(tiny_model):
    model = onnx.load(tiny_model)
    x = np.ones((2, 4), np.float32)
    by_dict = onnxhub.run(model, {"x": x}, backend="reference")
    by_list = onnxhub.run(model, [x], backend="reference")
    np.testing.assert_array_equal(by_dict["y"], by_list["y"])
    assert by_dict["y"].shape == (2, 3)


def test_supports_device_in_either_case():
    backend = onnxhub.get_backend("reference")
    assert backend.supports_device("CPU") and backend.supports_device("cpu")
    assert not backend.supports_device("CUDA")


def test_too_new_opset_is_unsupported_model(tiny_model):
    model = onnx.load(tiny_model)
    model.opset_import[0].version = onnx.defs.onnx_opset_version() + 1
    with pytest.raises(UnsupportedModel, match=r"opset \d+ is newer .*max opset \d+"):
        onnxhub.get_backend("reference").prepare(model)


def test_options_are_rejected_by_name(tiny_model):
    with pytest.raises(UsageError, match="no options"):
        onnxhub.get_backend("reference").prepare(onnx.load(tiny_model), threads=2)


@pytest.mark.parametrize("backend", ["reference", "onnxruntime"])
def test_a_declared_shape_the_graph_contradicts_is_refused_before_running(backend):
    # an Expand to 2x4x50331654 declared 2x4x6: the reference evaluator computed 2.4 GB before the mismatch showed
    from onnx import TensorProto, helper, numpy_helper

    from onnxhub.errors import InvalidModel

    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "es"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 6])],
        [numpy_helper.from_array(np.array([2, 4, 50331654], np.int64), "es")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(InvalidModel, match=r"Inferred shape and existing shape differ in dimension 2: "
                                           r"\(50331654\) vs \(6\)"):
        onnxhub.get_backend(backend).prepare(model)
