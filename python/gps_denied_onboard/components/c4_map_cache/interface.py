"""C4's public value types: what the localizer gets from a verified cache besides tiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, TileXYZ


@dataclass(frozen=True)
class DescriptorIndex:
    """Precomputed global descriptors for place recognition, one row per window of tiles.

    Row i: `ids[i]` (stable, see `layout.descriptor_id`), `matrix[i]` (L2-normalised),
    `tiles[i]` the window's north-west tile, covering `span_tiles` x `span_tiles`
    tiles; `bounds_lonlat[i]` = (lon_min, lat_min, lon_max, lat_max);
    `footprints_en_m[i]` = (east_min, north_min, east_max, north_max) in `frame`
    (the cache's map-source frame).
    """

    extractor: str
    dim: int
    span_tiles: int
    ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    tiles: tuple[TileXYZ, ...]
    bounds_lonlat: npt.NDArray[np.float64]
    footprints_en_m: npt.NDArray[np.float64]
    frame: EnuFrame

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def row_of(self, descriptor_id: int) -> int:
        """Row index of a descriptor id (KeyError when absent)."""
        rows = np.flatnonzero(self.ids == descriptor_id)
        if rows.size == 0:
            raise KeyError(descriptor_id)
        return int(rows[0])
