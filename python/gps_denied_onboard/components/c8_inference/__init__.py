"""C8 inference runtime: TensorRT engines on Jetson/GPU, ONNX Runtime or OpenCV elsewhere, behind one interface."""

from gps_denied_onboard.components.c8_inference.errors import (
    BackendUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
)
from gps_denied_onboard.components.c8_inference.extractor import ModelDescriptorExtractor
from gps_denied_onboard.components.c8_inference.interface import DescriptorExtractor, InferenceSession
from gps_denied_onboard.components.c8_inference.onnx_session import OnnxRuntimeSession, onnxruntime_version
from gps_denied_onboard.components.c8_inference.sessions import BACKENDS, open_session, runtime_matches
from gps_denied_onboard.components.c8_inference.tensorrt_session import (
    TensorRtSession,
    tensorrt_available,
    tensorrt_runtime_key,
)

__all__ = [
    "BACKENDS",
    "BackendUnavailableError",
    "DescriptorExtractor",
    "InferenceError",
    "InferenceInputError",
    "InferenceSession",
    "ModelDescriptorExtractor",
    "ModelLoadError",
    "OnnxRuntimeSession",
    "TensorRtSession",
    "onnxruntime_version",
    "open_session",
    "runtime_matches",
    "tensorrt_available",
    "tensorrt_runtime_key",
]
