"""Synthetic georeferenced rasters for tests (written with rasterio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

UTM33 = "EPSG:32633"
ORIGIN_E, ORIGIN_N = 500_000.0, 5_040_000.0  # ~45.5 N, 15.0 E


def make_geotiff(path: Path, *, size: int = 800, gsd: float = 0.5, crs: str = UTM33,
                 marker_px: tuple[int, int] | None = (400, 300), bands: int = 3, dtype: str = "uint8",
                 origin: tuple[float, float] = (ORIGIN_E, ORIGIN_N), seed: int = 0) -> Path:
    """A textured raster with an optional bright 6x6 px marker centred at (col, row)."""
    rng = np.random.default_rng(seed)
    base = (60 + rng.integers(0, 40, (size, size))).astype(np.uint8)
    if marker_px is not None:
        c, r = marker_px
        base[r - 3:r + 3, c - 3:c + 3] = 255
    data = np.stack([base] * bands).astype(dtype)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=bands, dtype=dtype, crs=crs,
                       transform=from_origin(origin[0], origin[1], gsd, gsd)) as ds:
        ds.write(data)
    return path
