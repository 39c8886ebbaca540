"""Descriptor extractors for tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c6_place_recognition import default_descriptor_extractor


class CountingExtractor:
    """C6's default extractor, recording the batch size of every `describe` call;
    `name` can be overridden to impersonate another extractor."""

    def __init__(self, name: str | None = None) -> None:
        self._inner = default_descriptor_extractor()
        self._name = name or self._inner.name
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._inner.dim

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        self.calls.append(len(images))
        return self._inner.describe(images)
