"""A tiny ONNX model built in code (no weights are shipped or downloaded): images (N,3,8,8) float32 -> mean per channel -> @ W -> desc (N,4)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

W = np.array([[1.0, 0.0, 0.5, -1.0], [0.0, 2.0, 0.5, 0.0], [0.0, 0.0, 1.0, 1.0]], dtype=np.float32)


def tiny_model_bytes(opset: int = 13) -> bytes:
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("desc", TensorProto.FLOAT, ["N", 4])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["pooled4"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["pooled4", "W"], ["desc"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=[numpy_helper.from_array(W, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gdn-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def expected(images: np.ndarray) -> np.ndarray:
    return images.mean(axis=(2, 3)) @ W
