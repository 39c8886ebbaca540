"""What a tile source gives provisioning (C10 declares the same protocol structurally).

A source renders or fetches web-mercator XYZ tiles (256 px) at one zoom and
yields each as encoded bytes (PNG/JPEG; a 4-channel PNG's alpha marks pixels the
source covers) plus a coarse validity grid used for the coverage check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import TileXYZ

TILE_SIZE = 256
VALIDITY_GRID = 16  # cells per tile side for the coverage check

FetchedTile = tuple[TileXYZ, bytes, npt.NDArray[np.bool_]]


class Progress(Protocol):
    """A progress sink (the CLI passes tqdm bars; library code never prints)."""

    def update(self, n: int = 1) -> object:
        ...


@runtime_checkable
class TileSource(Protocol):
    """A map source for provisioning."""

    @property
    def description(self) -> str:
        """Human-readable: what and where (for reports)."""
        ...

    def native_zoom(self, bbox: tuple[float, float, float, float]) -> int:
        """The zoom whose ground resolution best matches the source over `bbox` (lat_min, lon_min, lat_max, lon_max)."""
        ...

    def coverage_hint(self) -> str:
        """Where the source has data, for an operator hint when a bbox misses it."""
        ...

    def prepare(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> None:
        """Make `tiles` available locally (download with resume); no-op for local rasters."""
        ...

    def identity(self, tiles: Sequence[TileXYZ]) -> str:
        """Hex digest that changes whenever the tiles `fetch` would yield change."""
        ...

    def fetch(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> Iterator[FetchedTile]:
        """Yield the tiles the source has (tiles with no data are omitted)."""
        ...


def validity_grid(valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """(VALIDITY_GRID, VALIDITY_GRID) bools: the tile's validity sampled at cell centres."""
    h, w = valid.shape
    rows = ((np.arange(VALIDITY_GRID) + 0.5) * h / VALIDITY_GRID).astype(int)
    cols = ((np.arange(VALIDITY_GRID) + 0.5) * w / VALIDITY_GRID).astype(int)
    return np.ascontiguousarray(valid[np.ix_(rows, cols)])


def decode_validity(data: bytes) -> tuple[tuple[int, int], npt.NDArray[np.bool_]] | None:
    """(shape, validity grid) of encoded tile bytes, None when not a decodable 8-bit image."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 4:
        valid = image[:, :, 3] > 127
    else:
        valid = np.ones(image.shape[:2], dtype=bool)
    return (int(image.shape[0]), int(image.shape[1])), validity_grid(valid)
