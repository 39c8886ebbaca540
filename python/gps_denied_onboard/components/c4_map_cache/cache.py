"""A verified, read-only open cache: tile reads checked against the verified hashes."""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt, TileXYZ, tile_bounds
from gps_denied_onboard.components.c4_map_cache.calibration import parse_camera_yaml
from gps_denied_onboard.components.c4_map_cache.errors import (
    CacheLayoutError,
    HashMismatchError,
    MapCacheError,
    TileIntegrityError,
    TileNotInCacheError,
)
from gps_denied_onboard.components.c4_map_cache.geo_np import lonlat_to_en
from gps_denied_onboard.components.c4_map_cache.interface import DescriptorIndex
from gps_denied_onboard.components.c4_map_cache.layout import TILES_NAME, tile_of_descriptor_id
from gps_denied_onboard.components.c4_map_cache.manifest import EngineEntry, Manifest
from gps_denied_onboard.components.c4_map_cache.tile_locator import SEGMENT as _SEGMENT
from gps_denied_onboard.components.c4_map_cache.tile_locator import TileExtents

if TYPE_CHECKING:
    from gps_denied_onboard.components.c4_map_cache.map_source import CacheMapSource

TileImage = tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]


class VerifiedCache:
    """A cache that passed `open_cache`. Every tile read re-checks the tile's SHA-256
    against the hash bound by the signed Merkle root at load. Thread-safe."""

    def __init__(self, root: Path, manifest: Manifest, tile_hashes: dict[tuple[int, int, int], bytes],
                 verified_files: dict[str, bytes], *, expired: bool, decoded_cache_tiles: int = 256,
                 tile_mmap_bytes: int = 0, tile_extents: TileExtents | None = None) -> None:
        self._root = root
        self._manifest = manifest
        self._hashes = tile_hashes
        self._files = verified_files
        self._expired = expired
        self._lock = threading.Lock()
        # immutable=1: no file locking or change detection per query (the cache is read-only
        # media for us); a change after load is still caught by the per-read hash check.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            f"file:{root / TILES_NAME}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        # Direct reads: each tile's byte ranges in the container, found once at load
        # (tile_locator), are read straight from a memory map of it (or with pread when
        # mapping is off), skipping SQLite's statement and B-tree seeks, which were most of
        # the read latency and its tail (docs/map-cache.md). SQLite stays the authority: a
        # tile the locator did not place, or whose direct bytes fail the hash, is read
        # through it. The mapped pages are clean file pages (RssFile, reclaimable).
        self._fd: int | None = os.open(root / TILES_NAME, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._verified_size = os.fstat(self._fd).st_size
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._mapped_bytes = 0
        if tile_mmap_bytes > 0 and self._verified_size > 0:
            self._mapped_bytes = min(self._verified_size, int(tile_mmap_bytes))
            self._map = mmap.mmap(self._fd, self._mapped_bytes, prot=mmap.PROT_READ)
            self._view = memoryview(self._map)
        ranges = tile_extents.ranges if tile_extents is not None else {}
        # Keyed by the hash table's own (z, x, y) tuples: one set of key objects for both.
        self._extents: dict[tuple[int, int, int], bytes] = {
            key: extent for key in tile_hashes if (extent := ranges.get(key)) is not None}
        self._decoded: OrderedDict[tuple[TileXYZ, int], TileImage] = OrderedDict()
        self._decoded_cap = decoded_cache_tiles
        origin = manifest.takeoff_origin
        if origin is None:
            lat_min, lon_min, lat_max, lon_max = manifest.bbox
            origin = LatLonAlt((lat_min + lat_max) / 2.0, (lon_min + lon_max) / 2.0, 0.0)
        self._frame = EnuFrame(origin)
        self._descriptors: DescriptorIndex | None = None

    # -- identity -------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self._root

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def expired(self) -> bool:
        """True when the manifest had expired and was accepted by explicit override."""
        return self._expired

    @property
    def frame(self) -> EnuFrame:
        """The local ENU frame of `map_source()`: the takeoff origin, else the bbox centre."""
        return self._frame

    @property
    def zoom(self) -> int:
        return self._manifest.zoom

    def tiles(self) -> list[TileXYZ]:
        """Every tile in the cache, sorted (z, x, y)."""
        return [TileXYZ(z, x, y) for z, x, y in sorted(self._hashes)]

    def __contains__(self, tile: object) -> bool:
        return isinstance(tile, TileXYZ) and (tile.z, tile.x, tile.y) in self._hashes

    # -- tiles ----------------------------------------------------------------
    def read_tile(self, tile: TileXYZ) -> bytes:
        """The encoded tile (PNG/JPEG bytes), verified against its signed hash."""
        key = (tile.z, tile.x, tile.y)
        expected = self._hashes.get(key)
        if expected is None:
            raise TileNotInCacheError(tile)
        extent = self._extents.get(key)
        if extent is not None:
            data = self._read_direct(tile, expected, extent)
            if hashlib.sha256(data).digest() == expected:
                return data
        return self._read_through_sqlite(tile, expected)

    @property
    def tiles_read_directly(self) -> int:
        """How many tiles the direct-read locator placed (the rest read through SQLite)."""
        return len(self._extents)

    def _read_direct(self, tile: TileXYZ, expected: bytes, extent: bytes) -> bytes:
        with self._lock:
            if self._fd is None:
                raise MapCacheError("map cache is closed")
            view, mapped = self._view, self._mapped_bytes
            # Touching a mapped page past a file truncated in place is SIGBUS, which no
            # handler survives: re-check the size verified at load first (lseek: ~1 us).
            if view is not None and os.lseek(self._fd, 0, os.SEEK_END) < self._verified_size:
                self._unmap()
                raise TileIntegrityError(tile, expected.hex(), f"<{TILES_NAME} truncated after load>")
            return b"".join([view[o:o + n] if view is not None and o + n <= mapped else os.pread(self._fd, n, o)
                             for o, n in _SEGMENT.iter_unpack(extent)])

    def _read_through_sqlite(self, tile: TileXYZ, expected: bytes) -> bytes:
        z, x, y_tms = tile.z, tile.x, (1 << tile.z) - 1 - tile.y
        with self._lock:
            if self._conn is None:
                raise MapCacheError("map cache is closed")
            try:
                row = self._conn.execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?", (z, x, y_tms)
                ).fetchone()
            except sqlite3.DatabaseError as exc:  # the container changed under us or is corrupt
                raise TileIntegrityError(tile, expected.hex(), f"<container unreadable: {exc}>") from exc
        data = b"" if row is None else bytes(row[0])
        digest = hashlib.sha256(data).digest()
        if digest != expected:
            raise TileIntegrityError(tile, expected.hex(), digest.hex() if row is not None else "<row missing>")
        return data

    def tile_image(self, tile: TileXYZ, downsample: int = 1) -> TileImage:
        """Decoded tile as (BGR HxWx3, valid HxW), optionally downsampled by an integer factor."""
        key = (tile, downsample)
        with self._lock:
            hit = self._decoded.get(key)
            if hit is not None:
                self._decoded.move_to_end(key)
                return hit
        image = decode_tile(self.read_tile(tile), f"tile {tile}")
        if downsample > 1:
            size = max(1, image[0].shape[1] // downsample)
            bgr = cv2.resize(image[0], (size, size), interpolation=cv2.INTER_AREA)
            valid = cv2.resize(image[1].astype(np.uint8), (size, size), interpolation=cv2.INTER_AREA) > 0
            image = (bgr, valid)
        with self._lock:
            self._decoded[key] = image
            while len(self._decoded) > self._decoded_cap:
                self._decoded.popitem(last=False)
        return image

    # -- other artefacts -------------------------------------------------------
    def calibration_bytes(self) -> bytes:
        """The camera calibration yaml the cache was built for (verified bytes)."""
        return self._files[self._manifest.calibration_path]

    def camera_model(self) -> CameraModel:
        return parse_camera_yaml(self.calibration_bytes(), self._manifest.calibration_path)

    @property
    def engines(self) -> tuple[EngineEntry, ...]:
        return self._manifest.engines

    def engine_bytes(self, entry: EngineEntry) -> bytes:
        """An engine artefact's bytes, re-verified now (it is read long after load)."""
        data = self._files.get(entry.path)
        if data is None:
            try:
                data = (self._root / entry.path).read_bytes()
            except OSError as exc:
                raise CacheLayoutError(entry.path, f"cannot read engine: {exc.strerror}") from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise HashMismatchError(entry.path, entry.sha256, actual)
        return data

    def descriptors(self) -> DescriptorIndex | None:
        """Precomputed global descriptors, or None when the cache was built without an extractor."""
        if self._descriptors is None and self._manifest.descriptors is not None:
            self._descriptors = self._load_descriptors()
        return self._descriptors

    def _load_descriptors(self) -> DescriptorIndex:
        meta = self._manifest.descriptors or {}
        index_path, matrix_path = str(meta["index"]), str(meta["matrix"])
        try:
            index = json.loads(self._files[index_path].decode("utf-8"))
            windows = index["windows"]
            dim, span, extractor = int(index["dim"]), int(index["span_tiles"]), str(index["extractor"])
            matrix = np.load(io.BytesIO(self._files[matrix_path]), allow_pickle=False)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise CacheLayoutError(index_path, f"malformed descriptor index: {exc}") from exc
        if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape != (len(windows), dim):
            raise CacheLayoutError(matrix_path, f"descriptor matrix {matrix.dtype}{matrix.shape}, expected float32 ({len(windows)}, {dim})")
        ids = np.array([int(w) for w in windows], dtype=np.int64)
        tiles = tuple(tile_of_descriptor_id(int(w)) for w in windows)
        bounds = np.zeros((len(tiles), 4), dtype=np.float64)
        for i, t in enumerate(tiles):
            lon_min, _, _, lat_max = tile_bounds(t)
            _, lat_min, lon_max, _ = tile_bounds(TileXYZ(t.z, min(t.x + span - 1, (1 << t.z) - 1), min(t.y + span - 1, (1 << t.z) - 1)))
            bounds[i] = (lon_min, lat_min, lon_max, lat_max)
        e0, n0 = lonlat_to_en(self._frame, bounds[:, 0], bounds[:, 1])
        e1, n1 = lonlat_to_en(self._frame, bounds[:, 2], bounds[:, 3])
        foot = np.stack([np.minimum(e0, e1), np.minimum(n0, n1), np.maximum(e0, e1), np.maximum(n0, n1)], axis=1)
        matrix.setflags(write=False)
        return DescriptorIndex(extractor, dim, span, ids, matrix, tiles, bounds, foot, self._frame)

    def map_source(self, *, tile_lru_bytes: int | None = None) -> CacheMapSource:
        """This cache as a `gps_denied_onboard._types.MapSource` in `frame`; decoded
        tiles are kept in an LRU of at most `tile_lru_bytes` (default 24 MiB)."""
        from gps_denied_onboard.components.c4_map_cache.map_source import DEFAULT_TILE_LRU_BYTES, CacheMapSource

        return CacheMapSource(self, tile_lru_bytes=tile_lru_bytes or DEFAULT_TILE_LRU_BYTES)

    def _unmap(self) -> None:
        """Stop reading through the memory map (caller holds the lock); direct reads go on
        with pread(), whose short reads past a truncated end fail the hash instead."""
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._map is not None:
            self._map.close()
            self._map = None
        self._mapped_bytes = 0

    def close(self) -> None:
        with self._lock:
            self._unmap()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._decoded.clear()

    def __enter__(self) -> VerifiedCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_tile(data: bytes, name: str) -> TileImage:
    """PNG/JPEG tile bytes -> (BGR, valid). A 4-channel tile's alpha marks validity."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint8:
        raise CacheLayoutError(name, "tile data is not a decodable 8-bit PNG/JPEG image")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.ones(image.shape, dtype=bool)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3]), image[:, :, 3] > 127
    if image.shape[2] == 3:
        return image, np.ones(image.shape[:2], dtype=bool)
    raise CacheLayoutError(name, f"tile has {image.shape[2]} channels, expected 1, 3 or 4")
