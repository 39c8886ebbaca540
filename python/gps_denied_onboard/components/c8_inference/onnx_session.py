"""ONNX Runtime on the CPU: the runtime used wherever TensorRT is absent."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c8_inference.errors import InferenceInputError, ModelLoadError

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def onnxruntime_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


class OnnxRuntimeSession:
    """An `InferenceSession` backed by onnxruntime (CPUExecutionProvider).

    `model` is a path or the model bytes (bytes let a caller run exactly what it
    hash-verified). Inputs are checked by name, dtype and rank/static dims before
    running so a mistake says which tensor is wrong.
    """

    def __init__(self, model: str | os.PathLike[str] | bytes, *, name: str | None = None, intra_op_threads: int = 1) -> None:
        import onnxruntime as ort

        self._name = name or (str(model) if not isinstance(model, bytes) else "<onnx bytes>")
        options = ort.SessionOptions()
        # One thread by default: the flight computer's cores belong to the pipeline, not to one op.
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            source = model if isinstance(model, bytes) else str(Path(model))
            self._session = ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped Fail/InvalidGraph errors
            raise ModelLoadError(self._name, str(exc).splitlines()[0][:200]) from exc
        self._inputs = {i.name: i for i in self._session.get_inputs()}
        self._outputs = [o.name for o in self._session.get_outputs()]

    @property
    def backend(self) -> str:
        return "onnxruntime"

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    def input_shape(self, name: str) -> tuple[int | str | None, ...]:
        return tuple(self._inputs[name].shape)

    def run(self, inputs: Mapping[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.generic]]:
        """Run the model; returns every output by name."""
        missing = set(self._inputs) - set(inputs)
        if missing:
            raise InferenceInputError(self._name, sorted(missing)[0], "missing", "every model input")
        feed: dict[str, npt.NDArray[np.generic]] = {}
        for key, arr in inputs.items():
            spec = self._inputs.get(key)
            if spec is None:
                raise InferenceInputError(self._name, key, "unexpected", f"one of {sorted(self._inputs)}")
            want = _ORT_DTYPES.get(spec.type)
            a = np.asarray(arr)
            if want is not None and a.dtype != want:
                raise InferenceInputError(self._name, key, f"dtype {a.dtype}", f"dtype {np.dtype(want)}")
            if len(spec.shape) != a.ndim:
                raise InferenceInputError(self._name, key, f"shape {a.shape}", f"rank {len(spec.shape)} {tuple(spec.shape)}")
            for i, (d, s) in enumerate(zip(spec.shape, a.shape, strict=True)):
                if isinstance(d, int) and d != s:
                    raise InferenceInputError(self._name, key, f"shape {a.shape}", f"dim {i} == {d} {tuple(spec.shape)}")
            feed[key] = np.ascontiguousarray(a)
        results = self._session.run(self._outputs, feed)
        return {n: np.asarray(r) for n, r in zip(self._outputs, results, strict=True)}
