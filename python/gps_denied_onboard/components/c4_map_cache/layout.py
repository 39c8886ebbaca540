"""The on-disk contract of a provisioned cache, shared by the writer (C10) and the reader (C4).

    <cache>/
      manifest.json            canonical JSON, signed
      manifest.sig             canonical JSON {"alg": "ed25519", "key_id": hex, "sig": hex}
      tiles.sqlite             MBTiles-like: metadata(name, value); tiles(zoom_level,
                               tile_column, tile_row [TMS], tile_data, tile_sha256)
      calibration/camera.yaml  the ASL sensor.yaml the cache was built for
      descriptors/global.npy   (N, dim) float32 global descriptors   (optional)
      descriptors/index.json   id -> window of tiles, extractor name  (optional)
      engines/*                compiled inference engines / ONNX artefacts (optional)

The Merkle root binds every (z, x, y, sha256(tile)) to the manifest; see
`merkle_root` for the exact construction (docs/contracts/cache-manifest.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gps_denied_onboard._types import TileXYZ

CACHE_FORMAT = "gdn-cache/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
TILES_NAME = "tiles.sqlite"
CALIBRATION_NAME = "calibration/camera.yaml"
DESCRIPTORS_MATRIX_NAME = "descriptors/global.npy"
DESCRIPTORS_INDEX_NAME = "descriptors/index.json"
ENGINES_DIR = "engines"

TILES_PAGE_SIZE = 4096
# The tiles table's columns in order; tile_locator reads records in this layout.
TILE_COLUMNS = ("zoom_level", "tile_column", "tile_row", "tile_sha256", "tile_data")
TILES_INSERT = f"INSERT INTO tiles ({', '.join(TILE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
# A rowid table (MBTiles' layout): big blobs live in overflow pages with little waste,
# unlike a WITHOUT ROWID table. `tile_hash_index` covers (z, x, y, sha256), so the
# load-time scan of every tile hash reads only the small index, never a tile body.
TILES_SCHEMA = (
    "CREATE TABLE metadata (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);",
    "CREATE TABLE tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, "
    "tile_row INTEGER NOT NULL, tile_sha256 BLOB NOT NULL, tile_data BLOB NOT NULL);",
    "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    "CREATE INDEX tile_hash_index ON tiles (zoom_level, tile_column, tile_row, tile_sha256);",
)
TILES_HASH_SCAN = "SELECT zoom_level, tile_column, tile_row, tile_sha256 FROM tiles INDEXED BY tile_hash_index"

_LEAF = b"\x00"
_NODE = b"\x01"
_ZXY = struct.Struct(">III")


def canonical_json(obj: Any) -> bytes:
    """The one byte form of a JSON document that gets hashed and signed:
    sorted keys, no whitespace, ASCII only, no NaN/Infinity."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def tile_leaf(tile: TileXYZ, digest: bytes) -> bytes:
    """Merkle leaf hash: SHA-256(0x00 || z, x, y as big-endian u32 || sha256(tile_data))."""
    return hashlib.sha256(_LEAF + _ZXY.pack(tile.z, tile.x, tile.y) + digest).digest()


def merkle_root(leaves: Iterable[tuple[TileXYZ, bytes]]) -> str:
    """Hex Merkle root over (tile, sha256(tile_data)) pairs; see `merkle_root_zxy`."""
    return merkle_root_zxy((t.z, t.x, t.y, d) for t, d in leaves)


def merkle_root_zxy(leaves: Iterable[tuple[int, int, int, bytes]]) -> str:
    """Hex Merkle root over (z, x, y_xyz, sha256(tile_data)) sorted by (z, x, y):
    RFC 6962 style domain separation (0x00 leaves, 0x01 nodes); an odd node at the
    end of a level is promoted unchanged. The empty tree's root is SHA-256 of b""."""
    sha = hashlib.sha256
    pack = _ZXY.pack
    level = [sha(_LEAF + pack(z, x, y) + d).digest() for z, x, y, d in sorted(leaves)]
    if not level:
        return sha(b"").hexdigest()
    while len(level) > 1:
        pairs = iter(level)
        nxt = [sha(_NODE + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def public_key_id(key: Ed25519PublicKey) -> str:
    """Key id: hex SHA-256 of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def descriptor_id(tile: TileXYZ) -> int:
    """Stable, bbox-independent id of the window whose north-west tile is `tile`:
    z in bits 58..62, x in 29..57, y in 0..28 (z <= 29)."""
    return (tile.z << 58) | (tile.x << 29) | tile.y


def tile_of_descriptor_id(did: int) -> TileXYZ:
    """Inverse of `descriptor_id`."""
    return TileXYZ(did >> 58, (did >> 29) & ((1 << 29) - 1), did & ((1 << 29) - 1))


def bbox_area_km2(lat_min: float, lon_min: float, lat_max: float, lon_max: float) -> float:
    """Area of a lat/lon box on the WGS84 authalic sphere, km^2."""
    r = 6371.0072
    return (math.radians(lon_max - lon_min) * r * r
            * abs(math.sin(math.radians(lat_max)) - math.sin(math.radians(lat_min))))
