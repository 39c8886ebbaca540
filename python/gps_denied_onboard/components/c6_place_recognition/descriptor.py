"""A classical global descriptor for north-up, map-scale images: a spatial pyramid of
gradient-orientation histograms (doubled angle: invariant to contrast reversal,
which is common across dates), Hellinger-normalised. Needs no weights; implements
C8's `DescriptorExtractor` contract so provisioning can precompute tile descriptors."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

_BINS = 8
_GRIDS = (1, 2, 4)


class GradientHistogramDescriptor:
    """`DescriptorExtractor`: (N, dim) float32 L2-normalised rows."""

    def __init__(self, side_px: int = 96) -> None:
        if side_px < 16:
            raise ValueError(f"side_px must be >= 16, got {side_px}")
        self._side = side_px

    @property
    def name(self) -> str:
        return f"gdn-gradhist-v1-side{self._side}-bins{_BINS}-grids{'x'.join(map(str, _GRIDS))}"

    @property
    def dim(self) -> int:
        return _BINS * sum(g * g for g in _GRIDS)

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(images), self.dim), np.float32)
        for i, img in enumerate(images):
            out[i] = self._one(img)
        return out

    def _one(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        g = cv2.resize(gray, (self._side, self._side), interpolation=cv2.INTER_AREA).astype(np.float32)
        g = cv2.GaussianBlur(g, (0, 0), 1.0)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
        mag = np.sqrt(gx * gx + gy * gy)
        w = mag / (mag + float(np.percentile(mag, 75)) + 1e-3)
        ang = np.mod(np.arctan2(gy, gx), np.pi)  # orientation mod pi: contrast-sign invariant
        b = np.minimum((ang / np.pi * _BINS).astype(np.int32), _BINS - 1)
        parts = []
        for grid in _GRIDS:
            cell = self._side // grid
            for cy in range(grid):
                for cx in range(grid):
                    sl = (slice(cy * cell, (cy + 1) * cell), slice(cx * cell, (cx + 1) * cell))
                    parts.append(np.bincount(b[sl].ravel(), weights=w[sl].ravel(), minlength=_BINS)[:_BINS])
        v = np.sqrt(np.concatenate(parts))  # Hellinger: tames dominant orientations
        v -= v.mean()  # remove the shared "some gradient everywhere" component before cosine
        n = float(np.linalg.norm(v))
        return (v / n).astype(np.float32) if n > 1e-9 else np.zeros_like(v, np.float32)


def default_descriptor_extractor() -> GradientHistogramDescriptor:
    """The classical extractor used for per-tile descriptors (no model weights)."""
    return GradientHistogramDescriptor()
