"""C8 inference runtime: TensorRT engines on Jetson/GPU, ONNX Runtime or OpenCV elsewhere, behind one interface."""

from gps_denied_onboard.components.c8_inference.errors import InferenceError
from gps_denied_onboard.components.c8_inference.interface import DescriptorExtractor, InferenceSession

__all__ = ["DescriptorExtractor", "InferenceError", "InferenceSession"]
