"""C8's public contracts: what the rest of the system asks of an inference runtime.

`DescriptorExtractor` is how provisioning (C10's DescriptorBatcher) and place
recognition (C6) compute global image descriptors through one interface, whether
the implementation is classical (OpenCV/numpy, the default, no weights), an ONNX
model on ONNX Runtime, or a TensorRT engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class DescriptorExtractor(Protocol):
    """Maps north-up map-scale images to fixed-length global descriptors."""

    @property
    def name(self) -> str:
        """Identity including version and parameters; part of a cache's build identity."""
        ...

    @property
    def dim(self) -> int:
        ...

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """(N, dim) float32, each row L2-normalised."""
        ...


@runtime_checkable
class InferenceSession(Protocol):
    """A loaded model (ONNX Runtime session or TensorRT engine) with named tensors."""

    @property
    def backend(self) -> str:
        """"onnxruntime", "tensorrt" or "opencv"."""
        ...

    def run(self, inputs: Mapping[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.generic]]:
        ...
