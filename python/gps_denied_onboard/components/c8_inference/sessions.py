"""Choosing a runtime: one call that returns an `InferenceSession` for a model artefact."""

from __future__ import annotations

import os

from gps_denied_onboard.components.c8_inference.errors import BackendUnavailableError
from gps_denied_onboard.components.c8_inference.interface import InferenceSession
from gps_denied_onboard.components.c8_inference.onnx_session import OnnxRuntimeSession
from gps_denied_onboard.components.c8_inference.tensorrt_session import (
    TensorRtSession,
    tensorrt_available,
    tensorrt_runtime_key,
)

BACKENDS = ("onnxruntime", "tensorrt")


def open_session(model: str | os.PathLike[str] | bytes, backend: str, *, name: str | None = None) -> InferenceSession:
    """Load `model` (path or verified bytes) on `backend` ("onnxruntime" or "tensorrt").

    The backend comes from the cache manifest's engine entry, so the airborne side
    runs exactly the artefact provisioning built and hashed.
    """
    if backend == "onnxruntime":
        return OnnxRuntimeSession(model, name=name)
    if backend == "tensorrt":
        if not tensorrt_available():
            raise BackendUnavailableError("tensorrt", "the tensorrt and pycuda packages are not installed on this host")
        return TensorRtSession(model, name=name)
    raise BackendUnavailableError(backend, f"unknown backend; choose one of {', '.join(BACKENDS)}")


def runtime_matches(backend: str, gpu_arch: str, runtime_version: str) -> bool:
    """Can this host run an artefact built for (backend, gpu_arch, runtime_version)?

    A serialized TensorRT engine runs only on the GPU architecture and TensorRT
    version it was built with; an ONNX Runtime artefact is a plain ONNX model that
    any ONNX Runtime loads. Use it to pick a cache's engine entry at startup.
    """
    if backend == "onnxruntime":
        return True
    if backend == "tensorrt" and tensorrt_available():
        try:
            return tensorrt_runtime_key() == (gpu_arch, runtime_version)
        except BackendUnavailableError:
            return False
    return False
