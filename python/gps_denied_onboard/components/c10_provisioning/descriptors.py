"""DescriptorBatcher: global descriptors per window of tiles through an injected
`DescriptorExtractor` (C8's protocol), in batches, with a stable id per window.

A window is `span_tiles` x `span_tiles` tiles whose north-west tile is the
window's address; windows step by `stride_tiles`. Its id is
`descriptor_id(north-west tile)`: stable across rebuilds and bboxes, so the same
ground always has the same id. Rows of the matrix follow the sorted ids.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import TileXYZ
from gps_denied_onboard.components.c4_map_cache import (
    DESCRIPTORS_INDEX_NAME,
    DESCRIPTORS_MATRIX_NAME,
    canonical_json,
    descriptor_id,
)
from gps_denied_onboard.components.c8_inference import DescriptorExtractor
from gps_denied_onboard.components.c10_provisioning.errors import BuildInputError, DescriptorBatchError
from gps_denied_onboard.components.c10_provisioning.interface import ProgressBar
from gps_denied_onboard.helpers import atomic_write_bytes

DESCRIPTORS_FORMAT = "gdn-descriptors/1"
TileReader = Callable[[TileXYZ], "tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]] | None"]


@dataclass(frozen=True)
class DescriptorSet:
    """What the batcher wrote: cache-relative paths and the manifest's `descriptors` block."""

    count: int
    extractor: str
    dim: int
    span_tiles: int
    stride_tiles: int

    def manifest_block(self) -> dict[str, object]:
        return {"matrix": DESCRIPTORS_MATRIX_NAME, "index": DESCRIPTORS_INDEX_NAME, "extractor": self.extractor,
                "dim": self.dim, "count": self.count, "span_tiles": self.span_tiles, "stride_tiles": self.stride_tiles}


class DescriptorBatcher:
    """Computes and writes the descriptor files of a cache."""

    def __init__(self, extractor: DescriptorExtractor, *, span_tiles: int = 1, stride_tiles: int | None = None,
                 batch_size: int = 32, min_present: float = 0.5) -> None:
        if span_tiles < 1:
            raise BuildInputError("span_tiles", span_tiles, "an integer >= 1")
        if batch_size < 1:
            raise BuildInputError("batch_size", batch_size, "an integer >= 1")
        self._x = extractor
        self._span = span_tiles
        self._stride = stride_tiles or max(1, span_tiles // 2)
        self._batch = batch_size
        self._min_present = min_present

    def identity(self) -> str:
        """Part of the build identity: the extractor's name and the window layout."""
        return f"{self._x.name}|dim={self._x.dim}|span={self._span}|stride={self._stride}"

    def windows(self, tiles: Sequence[TileXYZ]) -> list[TileXYZ]:
        """North-west tiles of the windows over `tiles`, sorted by id."""
        present = set(tiles)
        if not present:
            return []
        if self._span == 1:
            return sorted(present, key=descriptor_id)
        z = next(iter(present)).z
        x0, x1 = min(t.x for t in present), max(t.x for t in present)
        y0, y1 = min(t.y for t in present), max(t.y for t in present)
        need = self._min_present * self._span * self._span
        out = []
        for y in range(y0, max(y0, y1 - self._span + 1) + 1, self._stride):
            for x in range(x0, max(x0, x1 - self._span + 1) + 1, self._stride):
                n = sum(TileXYZ(z, x + i, y + j) in present for j in range(self._span) for i in range(self._span)
                        if x + i < (1 << z) and y + j < (1 << z))
                if n >= need:
                    out.append(TileXYZ(z, x, y))
        return sorted(out, key=descriptor_id)

    def _image(self, nw: TileXYZ, read: TileReader) -> npt.NDArray[np.uint8]:
        """The window's mosaic (BGR); pixels the map does not cover are black."""
        got: dict[tuple[int, int], npt.NDArray[np.uint8]] = {}
        size = 256
        for j in range(self._span):
            for i in range(self._span):
                t = _shift(nw, i, j)
                tile = read(t) if t is not None else None
                if tile is not None:
                    bgr, valid = tile
                    size = bgr.shape[0]
                    got[(i, j)] = np.where(valid[..., None], bgr, 0).astype(np.uint8)
        canvas = np.zeros((self._span * size, self._span * size, 3), dtype=np.uint8)
        for (i, j), img in got.items():
            canvas[j * size:(j + 1) * size, i * size:(i + 1) * size] = img
        return canvas

    def _batches(self, windows: list[TileXYZ], read: TileReader) -> Iterator[tuple[int, list[TileXYZ], list[npt.NDArray[np.uint8]]]]:
        for b, start in enumerate(range(0, len(windows), self._batch)):
            chunk = windows[start:start + self._batch]
            yield b, chunk, [self._image(w, read) for w in chunk]

    def run(self, tiles: Sequence[TileXYZ], read: TileReader, cache_dir: Path,
            progress: ProgressBar | None = None) -> DescriptorSet:
        """Describe every window over `tiles` (images from `read`) and write the files."""
        windows = self.windows(tiles)
        dim = int(self._x.dim)
        matrix = np.zeros((len(windows), dim), dtype=np.float32)
        for b, chunk, images in self._batches(windows, read):
            out = self._x.describe(images)
            self._check(b, out, len(chunk), dim)
            start = b * self._batch
            matrix[start:start + len(chunk)] = out
            if progress is not None:
                progress.update(len(chunk))
        buf = io.BytesIO()
        np.save(buf, matrix, allow_pickle=False)
        (cache_dir / DESCRIPTORS_MATRIX_NAME).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache_dir / DESCRIPTORS_MATRIX_NAME, buf.getvalue())
        index = {"format": DESCRIPTORS_FORMAT, "extractor": self._x.name, "dim": dim, "span_tiles": self._span,
                 "stride_tiles": self._stride, "zoom": windows[0].z if windows else None,
                 "windows": [descriptor_id(w) for w in windows]}
        atomic_write_bytes(cache_dir / DESCRIPTORS_INDEX_NAME, canonical_json(index))
        return DescriptorSet(len(windows), self._x.name, dim, self._span, self._stride)

    def _check(self, batch: int, out: object, n: int, dim: int) -> None:
        name = self._x.name
        if not isinstance(out, np.ndarray) or out.dtype != np.float32:
            raise DescriptorBatchError(name, batch, type(out).__name__ if not isinstance(out, np.ndarray) else out.dtype, "a float32 ndarray")
        if out.shape != (n, dim):
            raise DescriptorBatchError(name, batch, f"shape {out.shape}", f"({n}, {dim})")
        if not np.isfinite(out).all():
            raise DescriptorBatchError(name, batch, "non-finite values", "finite descriptors")
        norms = np.linalg.norm(out, axis=1)
        if n and not np.allclose(norms, 1.0, atol=1e-3):
            raise DescriptorBatchError(name, batch, f"row norms {float(norms.min()):.4f}..{float(norms.max()):.4f}", "L2-normalised rows")


def _shift(t: TileXYZ, dx: int, dy: int) -> TileXYZ | None:
    n = 1 << t.z
    if t.x + dx >= n or t.y + dy >= n:
        return None
    return TileXYZ(t.z, t.x + dx, t.y + dy)
