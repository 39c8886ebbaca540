"""An independent writer of gdn-cache/1 directories for C4's tests, in the spirit of
python-tuf's RepositorySimulator: it builds signed caches with any version, expiry,
flight id or content, and re-signs tampered manifests, without C10."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gps_denied_onboard._types import TileXYZ, lonlat_to_pixel, xyz_to_tms
from gps_denied_onboard.components.c4_map_cache import (
    CACHE_FORMAT,
    TILES_INSERT,
    TILES_SCHEMA,
    canonical_json,
    descriptor_id,
    merkle_root,
    public_key_id,
)

CAMERA_YAML = b"""sensor_type: camera
resolution: [640, 480]
camera_model: pinhole
intrinsics: [500.0, 500.0, 319.5, 239.5]
distortion_model: radial-tangential
distortion_coefficients: [0.01, -0.002, 0.0, 0.0]
T_BS: {rows: 4, cols: 4, data: [0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]}
"""

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # FakeClock's default wall time
Z = 17
MARKER = (45.5012, 15.0031)  # lat, lon of a bright marker drawn into the tiles


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def synthetic_tiles(seed: int = 0, nx: int = 3, ny: int = 3) -> dict[TileXYZ, bytes]:
    """nx x ny tiles around MARKER at zoom Z: noise texture plus a 4x4 px white marker."""
    px, py = lonlat_to_pixel(MARKER[1], MARKER[0], Z)
    cx, cy = int(px // 256), int(py // 256)
    rng = np.random.default_rng(seed)
    out = {}
    for ty in range(cy - ny // 2, cy - ny // 2 + ny):
        for tx in range(cx - nx // 2, cx - nx // 2 + nx):
            img = (40 + rng.integers(0, 60, (256, 256, 3))).astype(np.uint8)
            mx, my = px - tx * 256, py - ty * 256
            if 2 <= mx < 254 and 2 <= my < 254:
                img[int(my) - 2:int(my) + 2, int(mx) - 2:int(mx) + 2] = 255
            ok, enc = cv2.imencode(".png", img)
            assert ok
            out[TileXYZ(Z, tx, ty)] = enc.tobytes()
    return out


class CacheSimulator:
    """Builds signed caches under `root` with `key`."""

    def __init__(self, root: Path, key: Ed25519PrivateKey | None = None) -> None:
        self.root = root
        self.key = key or Ed25519PrivateKey.generate()

    @property
    def public_key(self) -> Any:
        return self.key.public_key()

    def build(self, name: str, *, version: int = 1, expires: dt.datetime | None = None,
              tiles: dict[TileXYZ, bytes] | None = None, flight_id: str | None = None,
              takeoff: tuple[float, float, float] | None = None, descriptors: bool = True,
              cache_id: str | None = None) -> Path:
        d = self.root / name
        d.mkdir(parents=True)
        cache_id = cache_id or str(uuid.uuid4())
        tiles = synthetic_tiles() if tiles is None else tiles
        conn = sqlite3.connect(d / "tiles.sqlite")
        for stmt in TILES_SCHEMA:
            conn.execute(stmt)
        conn.execute("INSERT INTO metadata VALUES ('cache_id', ?)", (cache_id,))
        for t, data in tiles.items():
            z, x, y = xyz_to_tms(t)
            conn.execute(TILES_INSERT, (z, x, y, hashlib.sha256(data).digest(), data))
        conn.commit()
        conn.close()
        (d / "calibration").mkdir()
        (d / "calibration" / "camera.yaml").write_bytes(CAMERA_YAML)
        desc_block = None
        if descriptors:
            order = sorted(tiles, key=descriptor_id)
            rng = np.random.default_rng(7)
            m = rng.normal(size=(len(order), 8)).astype(np.float32)
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            buf = io.BytesIO()
            np.save(buf, m)
            (d / "descriptors").mkdir()
            (d / "descriptors" / "global.npy").write_bytes(buf.getvalue())
            (d / "descriptors" / "index.json").write_bytes(canonical_json(
                {"format": "gdn-descriptors/1", "extractor": "sim", "dim": 8, "span_tiles": 1, "stride_tiles": 1,
                 "zoom": Z, "windows": [descriptor_id(t) for t in order]}))
            desc_block = {"matrix": "descriptors/global.npy", "index": "descriptors/index.json", "extractor": "sim",
                          "dim": 8, "count": len(order)}
        files = {}
        for p in sorted(d.rglob("*")):
            if p.is_file():
                data = p.read_bytes()
                files[p.relative_to(d).as_posix()] = {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        xs = [t.x for t in tiles]
        doc = {
            "format": CACHE_FORMAT, "cache_id": cache_id, "version": version,
            "created": iso(NOW - dt.timedelta(days=1)), "expires": iso(expires or NOW + dt.timedelta(days=30)),
            "bbox": {"lat_min": MARKER[0] - 0.002, "lon_min": MARKER[1] - 0.002, "lat_max": MARKER[0] + 0.002,
                     "lon_max": MARKER[1] + 0.002} if xs else {"lat_min": 0, "lon_min": 0, "lat_max": 1, "lon_max": 1},
            "zoom": Z, "tile_size": 256,
            "takeoff_origin": None if takeoff is None else {"lat_deg": takeoff[0], "lon_deg": takeoff[1], "alt_m": takeoff[2]},
            "flight_id": flight_id, "build_identity": "0" * 64, "files": files,
            "tiles": {"count": len(tiles), "merkle_root": merkle_root((t, hashlib.sha256(v).digest()) for t, v in tiles.items())},
            "calibration": {"path": "calibration/camera.yaml", "sha256": files["calibration/camera.yaml"]["sha256"]},
            "engines": [], "descriptors": desc_block, "key_id": public_key_id(self.public_key),
        }
        self.sign(d, doc)
        return d

    def sign(self, d: Path, doc: dict[str, Any], key: Ed25519PrivateKey | None = None) -> None:
        key = key or self.key
        body = canonical_json(doc)
        (d / "manifest.json").write_bytes(body)
        (d / "manifest.sig").write_bytes(canonical_json(
            {"alg": "ed25519", "key_id": public_key_id(key.public_key()), "sig": key.sign(body).hex()}))

    def resign(self, d: Path, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Change the manifest document and sign it again with the trusted key."""
        doc = json.loads((d / "manifest.json").read_bytes())
        mutate(doc)
        self.sign(d, doc)

    def relist(self, d: Path, path: str) -> None:
        """Re-record one file's length and hash in the manifest (a signer who signs what it is given)."""
        data = (d / path).read_bytes()
        self.resign(d, lambda doc: doc["files"].__setitem__(path, {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}))
