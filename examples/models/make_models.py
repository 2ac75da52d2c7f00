"""Regenerate the small example models shipped in this folder (fixed seed, opset 17).

    python examples/models/make_models.py
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).parent


def tiny_cnn() -> onnx.ModelProto:
    """An MNIST-shaped classifier: Conv-Relu-MaxPool-Flatten-Gemm-Softmax, batch dimension N."""
    rng = np.random.default_rng(2017)
    weights = {
        "conv_w": rng.standard_normal((8, 1, 3, 3)).astype(np.float32) * 0.3,
        "conv_b": rng.standard_normal(8).astype(np.float32) * 0.1,
        "fc_w": rng.standard_normal((10, 8 * 14 * 14)).astype(np.float32) * 0.02,
        "fc_b": rng.standard_normal(10).astype(np.float32) * 0.1,
    }
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                              producer_name="onnxhub-examples")
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    onnx.save(tiny_cnn(), str(HERE / "tiny_cnn.onnx"))
    print("wrote", HERE / "tiny_cnn.onnx")
