"""A verified cache seen as a `MapSource`: north-up, square-pixel patches in a local
ENU frame, resampled from the web-mercator tiles.

How a patch is made: the exact ENU -> web-mercator pixel mapping is evaluated on
a coarse grid of nodes (it is smooth: bilinear interpolation between nodes is
good to far below a pixel) and densified with cv2.remap; the tiles it touches are
mosaicked (downsampled by a power of two first when the requested GSD is much
coarser than the tiles', to avoid aliasing) and remapped bilinearly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, MapPatch, TileXYZ, ground_resolution_m_per_px, tile_bounds
from gps_denied_onboard._types.tiles import MAX_MERCATOR_LAT_DEG
from gps_denied_onboard.components.c4_map_cache.geo_np import en_to_lonlat, lonlat_to_en

if TYPE_CHECKING:
    from gps_denied_onboard.components.c4_map_cache.cache import VerifiedCache

_NODES = 17
_MAX_DOWNSAMPLE = 64


class CacheMapSource:
    """`MapSource` over a `VerifiedCache` (every tile it reads is hash-checked)."""

    def __init__(self, cache: VerifiedCache) -> None:
        self._cache = cache
        self._frame = cache.frame
        self._z = cache.zoom
        self._ts = cache.manifest.tile_size
        tiles = cache.tiles()
        self._present = set(tiles)
        if tiles:
            x0 = min(t.x for t in tiles)
            x1 = max(t.x for t in tiles)
            y0 = min(t.y for t in tiles)
            y1 = max(t.y for t in tiles)
            lon_min, _, _, lat_max = tile_bounds(TileXYZ(self._z, x0, y0))
            _, lat_min, lon_max, _ = tile_bounds(TileXYZ(self._z, x1, y1))
        else:
            lat_min, lon_min, lat_max, lon_max = cache.manifest.bbox
        lons = np.array([lon_min, lon_max, lon_min, lon_max, (lon_min + lon_max) / 2, (lon_min + lon_max) / 2])
        lats = np.array([lat_min, lat_min, lat_max, lat_max, lat_min, lat_max])
        east, north = lonlat_to_en(self._frame, lons, lats, self._frame.origin.alt_m)
        self._bounds = (float(east.min()), float(north.min()), float(east.max()), float(north.max()))
        self._gsd = ground_resolution_m_per_px(self._frame.origin.lat_deg, self._z, self._ts)

    @property
    def frame(self) -> EnuFrame:
        return self._frame

    @property
    def bounds_en_m(self) -> tuple[float, float, float, float]:
        return self._bounds

    @property
    def native_gsd_m(self) -> float:
        return self._gsd

    def _global_px(self, east: npt.NDArray[np.float64], north: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lon, lat = en_to_lonlat(self._frame, east, north)
        lat = np.clip(lat, -MAX_MERCATOR_LAT_DEG, MAX_MERCATOR_LAT_DEG)
        world = float(self._ts << self._z)
        px = (lon + 180.0) / 360.0 * world
        py = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0 * world
        return px, py

    def read_patch(self, east_m: float, north_m: float, width_px: int, height_px: int, gsd_m: float) -> MapPatch:
        """A north-up patch centred on (east_m, north_m); outside coverage is zero / invalid."""
        if width_px <= 0 or height_px <= 0 or not gsd_m > 0:
            raise ValueError(f"read_patch needs positive size and gsd, got {width_px}x{height_px} @ {gsd_m}")
        east_min = east_m - width_px * gsd_m / 2.0
        north_max = north_m + height_px * gsd_m / 2.0
        gw, gh = min(_NODES, width_px), min(_NODES, height_px)
        nu = np.linspace(0.0, width_px - 1.0, gw)
        nv = np.linspace(0.0, height_px - 1.0, gh)
        ee = east_min + (nu[None, :] + 0.5) * gsd_m
        nn = north_max - (nv[:, None] + 0.5) * gsd_m
        px, py = self._global_px(np.broadcast_to(ee, (gh, gw)), np.broadcast_to(nn, (gh, gw)))
        scale = max(1.0, gsd_m / self._gsd)
        down = 1
        while down * 2 <= min(scale, _MAX_DOWNSAMPLE):
            down *= 2
        ts = self._ts // down
        n_tiles = 1 << self._z
        tx0 = max(0, int(math.floor(px.min() / self._ts)) - 1)
        tx1 = min(n_tiles - 1, int(math.floor(px.max() / self._ts)) + 1)
        ty0 = max(0, int(math.floor(py.min() / self._ts)) - 1)
        ty1 = min(n_tiles - 1, int(math.floor(py.max() / self._ts)) + 1)
        image = np.zeros((height_px, width_px, 3), dtype=np.uint8)
        valid = np.zeros((height_px, width_px), dtype=bool)
        patch = MapPatch(image, valid, east_min, north_max, gsd_m)
        if tx1 < tx0 or ty1 < ty0:
            return patch
        wanted = [TileXYZ(self._z, x, y) for y in range(ty0, ty1 + 1) for x in range(tx0, tx1 + 1)]
        present = [t for t in wanted if t in self._present]
        if not present:
            return patch
        mosaic = np.zeros(((ty1 - ty0 + 1) * ts, (tx1 - tx0 + 1) * ts, 3), dtype=np.uint8)
        mvalid = np.zeros(mosaic.shape[:2], dtype=np.float32)
        for t in present:
            bgr, ok = self._cache.tile_image(t, down)
            r0, c0 = (t.y - ty0) * ts, (t.x - tx0) * ts
            mosaic[r0:r0 + ts, c0:c0 + ts] = bgr[:ts, :ts]
            mvalid[r0:r0 + ts, c0:c0 + ts] = ok[:ts, :ts]
        # Node coordinates in the (downsampled) mosaic, pixel centres at integers;
        # small values keep float32 precise.
        mx = ((px - tx0 * self._ts) / down - 0.5).astype(np.float32)
        my = ((py - ty0 * self._ts) / down - 0.5).astype(np.float32)
        if gw > 1 or gh > 1:
            fu = np.broadcast_to((np.arange(width_px, dtype=np.float32) * ((gw - 1) / max(width_px - 1, 1)))[None, :], (height_px, width_px))
            fv = np.broadcast_to((np.arange(height_px, dtype=np.float32) * ((gh - 1) / max(height_px - 1, 1)))[:, None], (height_px, width_px))
            fu, fv = np.ascontiguousarray(fu), np.ascontiguousarray(fv)
            map_x = cv2.remap(mx, fu, fv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            map_y = cv2.remap(my, fu, fv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            map_x, map_y = np.full((1, 1), mx.item(), np.float32), np.full((1, 1), my.item(), np.float32)
        out = cv2.remap(mosaic, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        vmask = cv2.remap(mvalid, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.999
        out[~vmask] = 0
        image[:] = out.reshape(image.shape)
        valid[:] = vmask
        return patch
