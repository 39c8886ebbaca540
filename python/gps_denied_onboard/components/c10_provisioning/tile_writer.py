"""Writes the tile container (tiles.sqlite) of a cache being built."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import TileXYZ, xyz_to_tms
from gps_denied_onboard.components.c4_map_cache import (
    TILES_INSERT,
    TILES_NAME,
    TILES_PAGE_SIZE,
    TILES_SCHEMA,
    merkle_root,
)

FetchedTile = tuple[TileXYZ, bytes, npt.NDArray[np.bool_]]


@dataclass
class TileCorpus:
    """What went into the container: per-tile hashes (for the Merkle root) and validity grids."""

    hashes: dict[TileXYZ, bytes] = field(default_factory=dict)
    validity: dict[TileXYZ, npt.NDArray[np.bool_]] = field(default_factory=dict)
    bytes_total: int = 0

    @property
    def count(self) -> int:
        return len(self.hashes)

    def merkle_root(self) -> str:
        return merkle_root(self.hashes.items())


def write_tiles(cache_dir: Path, tiles: Iterable[FetchedTile], *, cache_id: str, zoom: int,
                bbox: tuple[float, float, float, float], description: str) -> TileCorpus:
    """Create `cache_dir/tiles.sqlite` from `tiles` (one transaction); returns the corpus."""
    path = cache_dir / TILES_NAME
    corpus = TileCorpus()
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA page_size={TILES_PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=OFF")  # a failed build's staging dir is discarded whole
        conn.execute("PRAGMA synchronous=OFF")
        for stmt in TILES_SCHEMA:
            conn.execute(stmt)
        lat_min, lon_min, lat_max, lon_max = bbox
        meta = {
            "name": f"gdn cache {cache_id}", "format": "png", "type": "baselayer", "version": "1",
            "description": description, "minzoom": str(zoom), "maxzoom": str(zoom),
            "bounds": f"{lon_min},{lat_min},{lon_max},{lat_max}", "cache_id": cache_id,
            "json": json.dumps({"scheme": "tms", "hash": "sha256"}),
        }
        conn.executemany("INSERT INTO metadata (name, value) VALUES (?, ?)", sorted(meta.items()))
        batch: list[tuple[int, int, int, bytes, bytes]] = []
        for tile, data, valid in tiles:
            digest = hashlib.sha256(data).digest()
            corpus.hashes[tile] = digest
            corpus.validity[tile] = valid
            corpus.bytes_total += len(data)
            z, x, y_tms = xyz_to_tms(tile)
            batch.append((z, x, y_tms, digest, data))
            if len(batch) >= 256:
                conn.executemany(TILES_INSERT, batch)
                batch.clear()
        if batch:
            conn.executemany(TILES_INSERT, batch)
        conn.commit()
    finally:
        conn.close()
    return corpus


def read_tiles(cache_dir: Path) -> dict[TileXYZ, bytes]:
    """All tile bytes of a staging container, for the descriptor pass (operator side)."""
    conn = sqlite3.connect(f"file:{cache_dir / TILES_NAME}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    finally:
        conn.close()
    return {TileXYZ(z, x, (1 << z) - 1 - y): bytes(d) for z, x, y, d in rows}
