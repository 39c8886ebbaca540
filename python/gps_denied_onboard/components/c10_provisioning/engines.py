"""EngineCompiler: ONNX -> TensorRT engine on hosts with TensorRT (FP16 where the GPU
has fast FP16), else a validated ONNX Runtime artefact. Artefact names carry the
model hash and the runtime key (GPU architecture + TensorRT version, or the ONNX
Runtime version), so an engine is never used on a runtime it was not built for."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from gps_denied_onboard.components.c8_inference import (
    InferenceError,
    OnnxRuntimeSession,
    onnxruntime_version,
    tensorrt_available,
    tensorrt_runtime_key,
)
from gps_denied_onboard.components.c10_provisioning.errors import EngineCompileError
from gps_denied_onboard.components.c10_provisioning.interface import EngineArtifact
from gps_denied_onboard.helpers import atomic_write_bytes
from gps_denied_onboard.logging import get_logger

_log = get_logger("c10_provisioning")
MAX_MODEL_BYTES = 2 * 1024**3
_DYNAMIC_BATCH = (1, 8, 32)


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)[:64] or "model"


class EngineCompiler:
    """Compiles ONNX models for this host's runtime.

    `backend`: "auto" (TensorRT when importable, else ONNX Runtime), "tensorrt" or
    "onnxruntime". `fp16`: allow FP16 kernels where the GPU supports them.
    """

    def __init__(self, backend: str = "auto", *, fp16: bool = True, workspace_bytes: int = 1 << 30) -> None:
        if backend not in ("auto", "tensorrt", "onnxruntime"):
            raise EngineCompileError("<all>", f"unknown backend {backend!r} (auto, tensorrt, onnxruntime)")
        if backend == "auto":
            backend = "tensorrt" if tensorrt_available() else "onnxruntime"
        if backend == "tensorrt" and not tensorrt_available():
            raise EngineCompileError("<all>", "backend tensorrt requested but tensorrt/pycuda are not installed")
        self._backend = backend
        self._fp16 = fp16
        self._workspace = workspace_bytes

    @property
    def backend(self) -> str:
        return self._backend

    def runtime_key(self) -> str:
        """What artefacts depend on besides the model: part of the build identity."""
        if self._backend == "tensorrt":
            arch, version = tensorrt_runtime_key()
            return f"tensorrt:{arch}:{version}:fp16={self._fp16}"
        return f"onnxruntime:{onnxruntime_version()}"

    def compile(self, model_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> EngineArtifact:
        """Compile one ONNX model into `out_dir`; returns the artefact with its hash."""
        src = Path(model_path)
        try:
            size = src.stat().st_size
        except OSError as exc:
            raise EngineCompileError(str(src), f"cannot read: {exc.strerror}") from exc
        if size > MAX_MODEL_BYTES:
            raise EngineCompileError(str(src), f"{size} bytes exceeds {MAX_MODEL_BYTES}")
        data = src.read_bytes()
        model_sha = hashlib.sha256(data).hexdigest()
        self._check_onnx(src, data)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if self._backend == "tensorrt":
            arch, version = tensorrt_runtime_key()
            blob, fp16 = self._build_tensorrt(src, data)
            name = f"{_safe_stem(src)}-{model_sha[:12]}.{arch}.trt{version}.engine"
            runtime_version = version
        else:
            try:
                OnnxRuntimeSession(data, name=str(src))  # proves the artefact loads on this runtime
            except InferenceError as exc:
                raise EngineCompileError(str(src), f"ONNX Runtime cannot load it: {exc}") from exc
            blob, fp16, arch = data, False, "cpu"
            runtime_version = onnxruntime_version()
            name = f"{_safe_stem(src)}-{model_sha[:12]}.onnxruntime{runtime_version}.onnx"
        digest = atomic_write_bytes(out / name, blob)
        _log.info("engine compiled", kind="c10_engine_compiled", model=str(src), backend=self._backend, artefact=name)
        return EngineArtifact(out / name, src.name, model_sha, self._backend, runtime_version,
                              arch if self._backend == "tensorrt" else "cpu", fp16, digest, len(blob))

    @staticmethod
    def _check_onnx(src: Path, data: bytes) -> None:
        import onnx

        try:
            model = onnx.load_from_string(data)
            onnx.checker.check_model(model)
        except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError / ValidationError / others
            raise EngineCompileError(str(src), f"not a valid ONNX model: {str(exc).splitlines()[0][:200]}") from exc

    def _build_tensorrt(self, src: Path, data: bytes) -> tuple[bytes, bool]:
        import tensorrt as trt

        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        flags = 0
        if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT 8; implicit in 10
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(data):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EngineCompileError(str(src), f"TensorRT ONNX parser: {errors[:300]}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self._workspace)
        fp16 = bool(self._fp16 and builder.platform_has_fast_fp16)
        if fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        profile = self._profile(builder, network)
        if profile is not None:
            config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineCompileError(str(src), "TensorRT builder returned no engine (see TensorRT log)")
        return bytes(serialized), fp16

    @staticmethod
    def _profile(builder: Any, network: Any) -> Any:
        dynamic = False
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            shape = list(tensor.shape)
            if any(d < 0 for d in shape):
                dynamic = True
                shapes = [[b if d < 0 and j == 0 else (d if d > 0 else 1) for j, d in enumerate(shape)] for b in _DYNAMIC_BATCH]
                profile.set_shape(tensor.name, *shapes)
        return profile if dynamic else None
