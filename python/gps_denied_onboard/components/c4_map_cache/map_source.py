"""A verified cache seen as a `MapSource`: north-up, square-pixel patches in a local
ENU frame, resampled from the web-mercator tiles.

How a patch is made: the exact ENU -> web-mercator pixel mapping is evaluated on
a coarse grid of nodes; it is densified as its least-squares affine part
(evaluated exactly at every pixel) plus the sub-pixel residual interpolated
bilinearly. The tiles it touches are mosaicked as BGRA (alpha = coverage;
downsampled by a power of two first when the requested GSD is much coarser than
the tiles', to avoid aliasing) and remapped bilinearly in one pass; a pixel is
valid when all four of its bilinear neighbours are.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, MapPatch, TileXYZ, ground_resolution_m_per_px, tile_bounds
from gps_denied_onboard._types.tiles import MAX_MERCATOR_LAT_DEG
from gps_denied_onboard.components.c4_map_cache.cache import decode_tile
from gps_denied_onboard.components.c4_map_cache.geo_np import en_to_lonlat, lonlat_to_en

if TYPE_CHECKING:
    from gps_denied_onboard.components.c4_map_cache.cache import VerifiedCache

_NODES = 17
_MAX_DOWNSAMPLE = 64
# Decoded-tile LRU budget: bounds the airborne process's memory whatever the tile size
# (a 256 px BGRA tile is 256 KiB; the budget holds ~96 of them, a few frames' footprints).
DEFAULT_TILE_LRU_BYTES = 24 * 1024 * 1024


class CacheMapSource:
    """`MapSource` over a `VerifiedCache` (every tile it reads is hash-checked)."""

    def __init__(self, cache: VerifiedCache, *, tile_lru_bytes: int = DEFAULT_TILE_LRU_BYTES) -> None:
        if tile_lru_bytes <= 0:
            raise ValueError(f"tile_lru_bytes must be > 0, got {tile_lru_bytes}")
        self._lru_budget = tile_lru_bytes
        self._lru_bytes = 0
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
        self._lru: OrderedDict[tuple[TileXYZ, int], npt.NDArray[np.uint8]] = OrderedDict()
        self._lru_lock = threading.Lock()

    def _bgra(self, tile: TileXYZ, down: int) -> npt.NDArray[np.uint8]:
        """The tile as BGRA (alpha 255 = covered), kept in a small LRU: mosaicking copies
        contiguous 4-byte pixels instead of interleaving colour and validity per call."""
        key = (tile, down)
        with self._lru_lock:
            hit = self._lru.get(key)
            if hit is not None:
                self._lru.move_to_end(key)
                return hit
        # Straight from the verified read (not the cache's decoded LRU): one cached copy per tile.
        bgr, ok = decode_tile(self._cache.read_tile(tile), f"tile {tile}")
        if down > 1:
            size = max(1, bgr.shape[1] // down)
            bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
            ok = cv2.resize(ok.view(np.uint8), (size, size), interpolation=cv2.INTER_AREA) > 0
        bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
        bgra[:, :, 3] = ok.view(np.uint8) * np.uint8(255)
        with self._lru_lock:
            if key not in self._lru:
                self._lru[key] = bgra
                self._lru_bytes += bgra.nbytes
            while self._lru_bytes > self._lru_budget and len(self._lru) > 1:
                _, dropped = self._lru.popitem(last=False)
                self._lru_bytes -= dropped.nbytes
        return bgra

    @property
    def cached_tile_bytes(self) -> int:
        """Bytes held by the decoded-tile LRU (at most the budget, or one tile)."""
        with self._lru_lock:
            return self._lru_bytes

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
        image = np.zeros((height_px, width_px, 3), dtype=np.uint8)
        valid = np.zeros((height_px, width_px), dtype=bool)
        patch = MapPatch(image, valid, east_min, north_max, gsd_m)
        # Nodes where cv2.resize (INTER_LINEAR) samples exactly: u_k = (k + 0.5) * W / gw - 0.5.
        gw, gh = min(_NODES, width_px), min(_NODES, height_px)
        nu = (np.arange(gw) + 0.5) * width_px / gw - 0.5
        nv = (np.arange(gh) + 0.5) * height_px / gh - 0.5
        uu, vv = np.meshgrid(nu, nv)
        px, py = self._global_px(east_min + (uu + 0.5) * gsd_m, north_max - (vv + 0.5) * gsd_m)
        scale = max(1.0, gsd_m / self._gsd)
        down = 1
        while down * 2 <= min(scale, _MAX_DOWNSAMPLE):
            down *= 2
        ts = self._ts // down
        n_tiles = 1 << self._z
        # Dense sample positions in (downsampled) global pixels, relative to a nearby reference
        # so float32 stays precise: exact affine part + interpolated sub-pixel residual.
        ref_x, ref_y = math.floor(px.min() / down), math.floor(py.min() / down)
        map_x = _dense_map(px / down - 0.5 - ref_x, uu, vv, width_px, height_px)
        map_y = _dense_map(py / down - 0.5 - ref_y, uu, vv, width_px, height_px)
        # The tiles the samples (and their bilinear neighbours) touch, from the dense maps themselves.
        tx0 = max(0, int(math.floor((ref_x + float(map_x.min()) - 1.0) / ts)))
        tx1 = min(n_tiles - 1, int(math.floor((ref_x + float(map_x.max()) + 2.0) / ts)))
        ty0 = max(0, int(math.floor((ref_y + float(map_y.min()) - 1.0) / ts)))
        ty1 = min(n_tiles - 1, int(math.floor((ref_y + float(map_y.max()) + 2.0) / ts)))
        if tx1 < tx0 or ty1 < ty0:
            return patch
        present = [t for t in (TileXYZ(self._z, x, y) for y in range(ty0, ty1 + 1) for x in range(tx0, tx1 + 1))
                   if t in self._present]
        if not present:
            return patch
        mosaic = np.zeros(((ty1 - ty0 + 1) * ts, (tx1 - tx0 + 1) * ts, 4), dtype=np.uint8)
        for t in present:
            r0, c0 = (t.y - ty0) * ts, (t.x - tx0) * ts
            mosaic[r0:r0 + ts, c0:c0 + ts] = self._bgra(t, down)[:ts, :ts]
        map_x -= np.float32(tx0 * ts - ref_x)  # into mosaic coordinates
        map_y -= np.float32(ty0 * ts - ref_y)
        out = cv2.remap(mosaic, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        ok = cv2.compare(out[:, :, 3], 255, cv2.CMP_EQ)  # all four bilinear neighbours valid
        bgr = cv2.cvtColor(out, cv2.COLOR_BGRA2BGR)
        cv2.bitwise_and(bgr, bgr, dst=image, mask=ok)
        np.greater(ok, 0, out=valid)
        return patch


def _dense_map(nodes: npt.NDArray[np.float64], uu: npt.NDArray[np.float64], vv: npt.NDArray[np.float64],
               width: int, height: int) -> npt.NDArray[np.float32]:
    """Per-pixel values of a smooth function known at the nodes: least-squares affine part
    evaluated exactly, plus the (sub-pixel) residual interpolated bilinearly."""
    a = np.column_stack([np.ones(uu.size), uu.ravel(), vv.ravel()])
    coef, *_ = np.linalg.lstsq(a, nodes.ravel(), rcond=None)
    residual = (nodes - (coef[0] + coef[1] * uu + coef[2] * vv)).astype(np.float32)
    dense = cv2.resize(residual, (width, height), interpolation=cv2.INTER_LINEAR)
    u = np.arange(width, dtype=np.float64)
    v = np.arange(height, dtype=np.float64)
    base = (coef[0] + coef[1] * u)[None, :] + (coef[2] * v)[:, None]
    return np.ascontiguousarray(dense + base.astype(np.float32))
