"""Small georeferenced rasters written on the fly for the c12 tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_raster(path: Path, image_bgr: np.ndarray, crs: str, transform: tuple[float, ...]) -> Path:
    """A 3-band GeoTIFF; `transform` is GDAL order (x0, dx, rx, y0, ry, dy)."""
    import rasterio
    from rasterio.transform import Affine

    h, w = image_bgr.shape[:2]
    a = Affine.from_gdal(*transform)
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=crs,
                       transform=a) as ds:
        ds.write(np.transpose(image_bgr[..., ::-1], (2, 0, 1)))
    return path


def dot_raster(size: int, spacing: int, sigma: float = 1.6) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Dark image with bright Gaussian dots on a grid; returns (image, dot (col, row) list)."""
    img = np.full((size, size), 20.0)
    r_px = int(np.ceil(4 * sigma))
    yy, xx = np.mgrid[-r_px:r_px + 1, -r_px:r_px + 1].astype(np.float64)
    blob = 200.0 * np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    dots = []
    for r in range(spacing // 2, size - spacing // 2 + 1, spacing):
        for c in range(spacing // 2, size - spacing // 2 + 1, spacing):
            img[r - r_px:r + r_px + 1, c - r_px:c + r_px + 1] += blob
            dots.append((c, r))
    out = np.clip(img, 0, 255).astype(np.uint8)
    return np.stack([out, out, out], axis=-1), dots
