"""GeoTIFF / COG / PNG-JPEG + world file sources, any CRS, reprojected with rasterio
(GDAL's warper) onto the web-mercator XYZ grid of the cache."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from gps_denied_onboard._types import TileXYZ, ground_resolution_m_per_px
from gps_denied_onboard.components.c11_tile_manager.download.errors import RasterSourceError
from gps_denied_onboard.components.c11_tile_manager.download.interface import (
    TILE_SIZE,
    FetchedTile,
    Progress,
    validity_grid,
)

RENDERER_VERSION = "raster-render/1"
_MERC_HALF = 20037508.342789244
_SIDECARS = (".pgw", ".pngw", ".jgw", ".jpgw", ".tfw", ".tifw", ".wld", ".prj", ".aux.xml")
_RESAMPLING = {"bilinear": Resampling.bilinear, "cubic": Resampling.cubic, "nearest": Resampling.nearest,
               "lanczos": Resampling.lanczos, "average": Resampling.average}


class RasterTileSource:
    """Renders web-mercator tiles from a georeferenced raster.

    `crs` overrides or supplies the raster's CRS (needed for a world file with no
    .prj). Bands: 1 (grey), 3 (RGB) or 4 (RGBA, alpha = coverage); 8-bit only.
    Rendering is a pure function of the raster's bytes and these parameters, so
    `identity` hashes the files instead of rendering.
    """

    def __init__(self, path: str | os.PathLike[str], *, crs: str | None = None, resampling: str = "bilinear",
                 block_tiles: int = 8, png_compression: int = 1, tile_format: str = "png",
                 jpeg_quality: int = 92) -> None:
        self._path = Path(path)
        if resampling not in _RESAMPLING:
            raise RasterSourceError(str(path), f"unknown resampling; choose one of {', '.join(_RESAMPLING)}", resampling)
        if tile_format not in ("png", "jpeg") or not 50 <= jpeg_quality <= 100:
            raise RasterSourceError(str(path), "tile format must be png or jpeg (quality 50..100)", (tile_format, jpeg_quality))
        # JPEG for fully covered tiles (smaller, faster); partial tiles stay PNG for their alpha.
        self._format = tile_format
        self._jpeg = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        self._resampling = resampling
        self._block = max(1, block_tiles)
        self._png = [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)]
        self._crs_override = crs
        try:
            with rasterio.open(self._path) as ds:
                found = CRS.from_user_input(crs) if crs else (ds.crs or self._prj_crs())
                if found is None:
                    raise RasterSourceError(str(path), "has no CRS (no .prj / .aux.xml / GeoTIFF keys): give one, e.g. --source-crs EPSG:4326")
                self._crs: CRS = found
                if ds.transform == Affine.identity():
                    raise RasterSourceError(str(path), "is not georeferenced (no geotransform or world file)")
                if any(dt != "uint8" for dt in ds.dtypes):
                    raise RasterSourceError(str(path), "must be 8-bit; convert it first (gdal_translate -ot Byte -scale)", ds.dtypes)
                self._count = ds.count
                self._has_alpha = ds.count in (2, 4) and ds.colorinterp[-1] == ColorInterp.alpha
                if ds.count not in (1, 3) and not self._has_alpha:
                    raise RasterSourceError(str(path), "needs 1 (grey), 3 (RGB) or 4 (RGBA) bands", ds.count)
                lon_min, lat_min, lon_max, lat_max = transform_bounds(self._crs, "EPSG:4326", *ds.bounds)
                self._bounds = (lat_min, lon_min, lat_max, lon_max)
                res_x, res_y = abs(ds.transform.a), abs(ds.transform.e)
                if self._crs.is_geographic:
                    lat_c = math.radians((lat_min + lat_max) / 2.0)
                    self._gsd = min(res_x * 111_320.0 * math.cos(lat_c), res_y * 110_574.0)
                else:
                    factor = self._crs.linear_units_factor[1] if self._crs.linear_units_factor else 1.0
                    self._gsd = min(res_x, res_y) * factor
        except RasterioError as exc:
            raise RasterSourceError(str(path), f"cannot open with rasterio: {exc}") from exc

    def _prj_crs(self) -> CRS | None:
        """GDAL ignores a .prj next to a PNG/JPEG + world file; the ESRI convention says it is the CRS."""
        prj = self._path.with_suffix(".prj")
        if not prj.is_file():
            return None
        try:
            return CRS.from_wkt(prj.read_text(encoding="utf-8", errors="replace"))
        except (RasterioError, ValueError) as exc:
            raise RasterSourceError(str(prj), f"is not a WKT CRS: {exc}") from exc

    @property
    def description(self) -> str:
        return f"raster {self._path.name} ({self._crs.to_string()}, {self._gsd:.2f} m/px)"

    @property
    def bounds_latlon(self) -> tuple[float, float, float, float]:
        """(lat_min, lon_min, lat_max, lon_max) of the raster."""
        return self._bounds

    @property
    def native_gsd_m(self) -> float:
        return self._gsd

    def native_zoom(self, bbox: tuple[float, float, float, float]) -> int:
        """The coarsest zoom at most 25 % coarser than the raster (no pointless upsampling)."""
        lat_c = (bbox[0] + bbox[2]) / 2.0
        for z in range(0, 24):
            if ground_resolution_m_per_px(lat_c, z, TILE_SIZE) <= self._gsd * 1.25:
                return z
        return 23

    def coverage_hint(self) -> str:
        lat_min, lon_min, lat_max, lon_max = self._bounds
        return (f"{self._path.name} covers lat {lat_min:.6f}..{lat_max:.6f}, lon {lon_min:.6f}..{lon_max:.6f} "
                f"(--bbox is lat_min,lon_min,lat_max,lon_max)")

    def prepare(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> None:
        """A local raster is always available: nothing to fetch."""
        if progress is not None:
            progress.update(len(tiles))

    def identity(self, tiles: Sequence[TileXYZ]) -> str:
        h = hashlib.sha256()
        h.update(f"{RENDERER_VERSION}|{self._crs_override}|{self._resampling}|{self._png[1]}|{self._format}|{self._jpeg[1]}|".encode())
        files = [self._path] + [self._path.with_name(self._path.name + s) for s in (".aux.xml", ".ovr")]
        files += [self._path.with_suffix(s) for s in _SIDECARS]
        for f in sorted(set(files)):
            if f.is_file():
                h.update(f.name.encode() + b"\0")
                with open(f, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
        for t in sorted(tiles):
            h.update(f"{t.z}/{t.x}/{t.y};".encode())
        return h.hexdigest()

    def fetch(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> Iterator[FetchedTile]:
        """Render `tiles` block by block (one warp per block of `block_tiles`^2 tiles)."""
        wanted = set(tiles)
        if not wanted:
            return
        z = next(iter(wanted)).z
        x0, x1 = min(t.x for t in wanted), max(t.x for t in wanted)
        y0, y1 = min(t.y for t in wanted), max(t.y for t in wanted)
        span = 2.0 * _MERC_HALF / (1 << z)
        px_m = span / TILE_SIZE
        transform = Affine(px_m, 0.0, -_MERC_HALF + x0 * span, 0.0, -px_m, _MERC_HALF - y0 * span)
        width, height = (x1 - x0 + 1) * TILE_SIZE, (y1 - y0 + 1) * TILE_SIZE
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8)), thread_name_prefix="tile-enc") as pool, \
                    rasterio.open(self._path) as ds, WarpedVRT(
                ds, src_crs=self._crs, crs="EPSG:3857", transform=transform, width=width, height=height,
                resampling=_RESAMPLING[self._resampling], add_alpha=not self._has_alpha,
                **{"NUM_THREADS": "ALL_CPUS"},  # GDAL warp option: multithreaded warping
            ) as vrt:
                colour = [1, 1, 1] if self._count in (1, 2) else [1, 2, 3]
                alpha = vrt.count
                b = self._block
                for by in range(y0, y1 + 1, b):
                    for bx in range(x0, x1 + 1, b):
                        block = [t for t in (TileXYZ(z, x, y) for y in range(by, min(by + b, y1 + 1))
                                             for x in range(bx, min(bx + b, x1 + 1))) if t in wanted]
                        if not block:
                            continue
                        nx, ny = min(b, x1 + 1 - bx), min(b, y1 + 1 - by)
                        win = Window((bx - x0) * TILE_SIZE, (by - y0) * TILE_SIZE, nx * TILE_SIZE, ny * TILE_SIZE)
                        data = vrt.read(colour + [alpha], window=win)
                        yield from self._cut(block, bx, by, data, pool)
                        if progress is not None:
                            progress.update(len(block))
        except RasterioError as exc:
            raise RasterSourceError(str(self._path), f"reprojection failed: {exc}") from exc

    def _cut(self, block: list[TileXYZ], bx: int, by: int, data: np.ndarray,
             pool: ThreadPoolExecutor) -> Iterator[FetchedTile]:
        """Encode the block's tiles on the pool (cv2 releases the GIL), in order."""
        jobs = []
        for t in block:
            r0, c0 = (t.y - by) * TILE_SIZE, (t.x - bx) * TILE_SIZE
            jobs.append((t, pool.submit(self._encode, t, data[:, r0:r0 + TILE_SIZE, c0:c0 + TILE_SIZE])))
        for t, job in jobs:
            result = job.result()
            if result is not None:
                yield t, result[0], result[1]

    def _encode(self, t: TileXYZ, tile: np.ndarray) -> tuple[bytes, np.ndarray] | None:
        valid = tile[3] > 127
        if not valid.any():
            return None
        bgr = cv2.merge([tile[2], tile[1], tile[0]])
        if valid.all():
            ok, enc = cv2.imencode(".jpg", bgr, self._jpeg) if self._format == "jpeg" else cv2.imencode(".png", bgr, self._png)
        else:
            bgra = cv2.merge([tile[2], tile[1], tile[0], np.where(valid, 255, 0).astype(np.uint8)])
            bgra[~valid, :3] = 0
            ok, enc = cv2.imencode(".png", bgra, self._png)
        if not ok:
            raise RasterSourceError(str(self._path), f"PNG encoding of tile {t} failed")
        return enc.tobytes(), validity_grid(valid)
