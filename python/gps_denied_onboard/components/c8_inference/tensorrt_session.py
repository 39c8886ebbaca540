"""TensorRT engines with pycuda device buffers (GPU hosts: Jetson, CUDA workstations).

Imported lazily: `tensorrt` and `pycuda` exist only on CUDA hosts. Uses the
name-based tensor API (TensorRT >= 8.5): one device buffer per I/O tensor, one
stream, `execute_async_v3`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c8_inference.errors import (
    BackendUnavailableError,
    InferenceInputError,
    ModelLoadError,
)


def tensorrt_available() -> bool:
    """True when both `tensorrt` and `pycuda` are importable (they need a CUDA host)."""
    return importlib.util.find_spec("tensorrt") is not None and importlib.util.find_spec("pycuda") is not None


def _modules() -> tuple[Any, Any]:
    if not tensorrt_available():
        raise BackendUnavailableError("tensorrt", "the tensorrt and pycuda packages are not installed on this host")
    import pycuda.driver as cuda
    import tensorrt as trt

    cuda.init()
    return trt, cuda


def tensorrt_runtime_key(device: int = 0) -> tuple[str, str]:
    """(gpu_arch like "sm_87", tensorrt version): what a serialized engine is tied to."""
    trt, cuda = _modules()
    major, minor = cuda.Device(device).compute_capability()
    return f"sm_{major}{minor}", str(trt.__version__)


class TensorRtSession:
    """An `InferenceSession` over a serialized TensorRT engine (path or bytes)."""

    def __init__(self, engine: str | os.PathLike[str] | bytes, *, name: str | None = None, device: int = 0) -> None:
        trt, cuda = _modules()
        self._trt, self._cuda = trt, cuda
        self._name = name or (str(engine) if not isinstance(engine, bytes) else "<engine bytes>")
        data = engine if isinstance(engine, bytes) else Path(engine).read_bytes()
        self._ctx = cuda.Device(device).retain_primary_context()
        self._ctx.push()
        try:
            logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = trt.Runtime(logger)
            self._engine = self._runtime.deserialize_cuda_engine(data)
            if self._engine is None:
                raise ModelLoadError(self._name, "TensorRT could not deserialize the engine (built for another GPU or TensorRT version?)")
            self._context = self._engine.create_execution_context()
            self._stream = cuda.Stream()
            self._inputs: list[str] = []
            self._outputs: list[str] = []
            for i in range(self._engine.num_io_tensors):
                tname = self._engine.get_tensor_name(i)
                if self._engine.get_tensor_mode(tname) == trt.TensorIOMode.INPUT:
                    self._inputs.append(tname)
                else:
                    self._outputs.append(tname)
        finally:
            self._ctx.pop()

    @property
    def backend(self) -> str:
        return "tensorrt"

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    def run(self, inputs: Mapping[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.generic]]:
        trt, cuda = self._trt, self._cuda
        self._ctx.push()
        try:
            buffers = []
            for tname in self._inputs:
                if tname not in inputs:
                    raise InferenceInputError(self._name, tname, "missing", "every engine input")
                want = np.dtype(trt.nptype(self._engine.get_tensor_dtype(tname)))
                host = np.ascontiguousarray(inputs[tname])
                if host.dtype != want:
                    raise InferenceInputError(self._name, tname, f"dtype {host.dtype}", f"dtype {want}")
                if not self._context.set_input_shape(tname, host.shape):
                    raise InferenceInputError(self._name, tname, f"shape {host.shape}", "a shape the engine profile allows")
                dev = cuda.mem_alloc(max(host.nbytes, 1))
                cuda.memcpy_htod_async(dev, host, self._stream)
                self._context.set_tensor_address(tname, int(dev))
                buffers.append(dev)
            outputs: dict[str, npt.NDArray[np.generic]] = {}
            pending = []
            for tname in self._outputs:
                shape = tuple(self._context.get_tensor_shape(tname))
                dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(tname)))
                host = cuda.pagelocked_empty(shape, dtype)
                dev = cuda.mem_alloc(max(host.nbytes, 1))
                self._context.set_tensor_address(tname, int(dev))
                buffers.append(dev)
                pending.append((tname, host, dev))
            if not self._context.execute_async_v3(self._stream.handle):
                raise ModelLoadError(self._name, "TensorRT execution failed")
            for _, host, dev in pending:
                cuda.memcpy_dtoh_async(host, dev, self._stream)
            self._stream.synchronize()
            for tname, host, _ in pending:
                outputs[tname] = np.array(host)
            return outputs
        finally:
            self._ctx.pop()
