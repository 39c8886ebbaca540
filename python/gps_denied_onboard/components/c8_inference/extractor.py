"""A `DescriptorExtractor` over any `InferenceSession` whose model maps an image batch
(N, C, H, W) float32 in [0, 1] to (N, dim) descriptors."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c8_inference.errors import InferenceError, InferenceInputError
from gps_denied_onboard.components.c8_inference.interface import InferenceSession


class ModelDescriptorExtractor:
    """Resizes each image to `size` (w, h), runs the model, L2-normalises the rows.

    `model_id` must change whenever the weights change (e.g. the model's SHA-256):
    it is part of `name`, which is part of a cache's build identity.
    """

    def __init__(self, session: InferenceSession, *, model_id: str, input_name: str, output_name: str,
                 size: tuple[int, int], dim: int, grayscale: bool = False) -> None:
        self._session = session
        self._input = input_name
        self._output = output_name
        self._size = size
        self._dim = dim
        self._gray = grayscale
        self._name = f"model:{model_id}:{size[0]}x{size[1]}:{'gray' if grayscale else 'bgr'}:{dim}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        if not images:
            return np.zeros((0, self._dim), dtype=np.float32)
        batch = []
        for i, img in enumerate(images):
            if img.dtype != np.uint8 or img.ndim not in (2, 3):
                raise InferenceInputError(self._name, f"images[{i}]", f"{img.dtype}{img.shape}", "uint8 HxW or HxWx3")
            if self._gray and img.ndim == 3:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            elif not self._gray and img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            img = cv2.resize(img, self._size, interpolation=cv2.INTER_AREA)
            arr = img.astype(np.float32) / 255.0
            batch.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
        out = self._session.run({self._input: np.stack(batch)})[self._output]
        out = np.asarray(out, dtype=np.float32).reshape(len(images), -1)
        if out.shape[1] != self._dim:
            raise InferenceError(f"model {self._name} returned {out.shape[1]}-dim descriptors, expected {self._dim}")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)
