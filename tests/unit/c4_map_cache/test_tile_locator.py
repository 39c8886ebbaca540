"""The direct-read tile locator: where each tile's bytes lie in tiles.sqlite.

The property that matters: for any container SQLite writes with our schema (any page size,
tiny to multi-page blobs, rows rewritten and moved), the ranges the locator reports join to
exactly the blob SQLite returns. Malformed trees are refused with an error naming the
page, and the cache's reads stay correct whatever the locator says (SQLite decides).
"""

from __future__ import annotations

import hashlib
import mmap
import random
import shutil
import sqlite3
import struct
import tempfile
from pathlib import Path

import pytest
from cache_simulator import CacheSimulator, synthetic_tiles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import (
    TILES_INSERT,
    TILES_NAME,
    TILES_SCHEMA,
    TileLocatorError,
    VerifyOptions,
    open_cache,
)
from gps_denied_onboard.components.c4_map_cache.tile_locator import (
    TileExtents,
    locate_container,
    locate_tiles,
    segments,
)

ZOOM = 18
FLIP = (1 << ZOOM) - 1


def _container(path: Path, page_size: int, blobs: dict[tuple[int, int], bytes],
               rewrites: dict[tuple[int, int], bytes] | None = None) -> dict[tuple[int, int, int], bytes]:
    """A tiles table holding `blobs` at (x, tms_row), then `rewrites` applied as UPDATEs
    (rows that grow or shrink move and leave free pages behind). -> {(z, x, xyz_y): blob}."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size={page_size}")
    for stmt in TILES_SCHEMA:
        conn.execute(stmt)
    conn.executemany(TILES_INSERT, [(ZOOM, x, y, hashlib.sha256(b).digest(), b) for (x, y), b in blobs.items()])
    conn.commit()
    final = dict(blobs)
    for (x, y), b in (rewrites or {}).items():
        conn.execute("UPDATE tiles SET tile_data=?, tile_sha256=? WHERE tile_column=? AND tile_row=?",
                     (b, hashlib.sha256(b).digest(), x, y))
        final[(x, y)] = b
    conn.commit()
    conn.close()
    return {(ZOOM, x, FLIP - y): b for (x, y), b in final.items()}


def _read(path: Path, extents: TileExtents, key: tuple[int, int, int]) -> bytes:
    data = path.read_bytes()
    return b"".join(data[o:o + n] for o, n in segments(extents.ranges[key]))


def _root_page(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'tiles'").fetchone()[0])
    finally:
        conn.close()


# Blob sizes around every boundary of a 4 KiB page (fully local, the largest local payload,
# one byte into overflow, exactly filling overflow pages) and a multi-page tile.
BOUNDARY_SIZES = [0, 1, 400, 4000, 4040, 4050, 4060, 4070, 4092, 8184, 8200, 12288, 70_000]


@pytest.mark.parametrize("page_size", [512, 1024, 4096, 16384, 65536])
def test_every_row_is_located_exactly_at_any_page_size(tmp_path: Path, page_size: int) -> None:
    rng = random.Random(page_size)
    blobs = {(100 + i, 7 * i): rng.randbytes(n) for i, n in enumerate(BOUNDARY_SIZES)}
    path = tmp_path / TILES_NAME
    expected = _container(path, page_size, blobs)
    extents = locate_container(path)
    assert extents.page_size == page_size and extents.rows_unplaced == 0
    assert set(extents.ranges) == set(expected)
    for key, blob in expected.items():
        assert _read(path, extents, key) == blob, (page_size, len(blob))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page_size=st.sampled_from([512, 1024, 4096, 65536]),
       sizes=st.lists(st.integers(0, 40_000), min_size=1, max_size=40),
       rewritten=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 40_000)), max_size=10),
       seed=st.integers(0, 2**32 - 1))
def test_located_ranges_join_to_sqlites_blob(page_size: int, sizes: list[int], rewritten: list[tuple[int, int]],
                                              seed: int) -> None:
    rng = random.Random(seed)
    blobs = {(i, rng.randrange(FLIP + 1)): rng.randbytes(n) for i, n in enumerate(sizes)}
    keys = list(blobs)
    rewrites = {keys[i % len(keys)]: rng.randbytes(n) for i, n in rewritten}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / TILES_NAME
        expected = _container(path, page_size, blobs, rewrites)
        extents = locate_container(path)
        assert extents.rows_unplaced == 0 and set(extents.ranges) == set(expected)
        for key, blob in expected.items():
            assert _read(path, extents, key) == blob


def _corrupt_copy(src: Path, dst: Path, offset: int, value: bytes) -> Path:
    shutil.copy(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        f.write(value)
    return dst


@pytest.fixture
def two_level(tmp_path: Path) -> tuple[Path, int]:
    """A container whose tiles table has an interior root page (4 KiB pages)."""
    path = tmp_path / "ok.sqlite"
    _container(path, 4096, {(i, i): bytes([i % 251]) * 3000 for i in range(40)})
    return path, _root_page(path)


def test_a_page_type_that_is_not_a_table_page_is_refused_naming_the_page(tmp_path: Path, two_level: tuple[Path, int]) -> None:
    path, root = two_level
    bad = _corrupt_copy(path, tmp_path / "bad.sqlite", (root - 1) * 4096, b"\x0a")
    with open(bad, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
        with pytest.raises(TileLocatorError) as err:
            locate_tiles(mm, root)
        assert err.value.where == f"page {root}" and "0x0a" in err.value.reason
        del err


def test_a_cycle_in_the_tree_is_refused(tmp_path: Path, two_level: tuple[Path, int]) -> None:
    path, root = two_level
    base = (root - 1) * 4096
    assert path.read_bytes()[base] == 0x05  # interior: its right-most child pointer at +8
    bad = _corrupt_copy(path, tmp_path / "loop.sqlite", base + 8, struct.pack(">I", root))
    with pytest.raises(TileLocatorError, match="cycle|twice"):
        locate_tiles(bad.read_bytes(), root)


def test_a_child_pointer_past_the_end_of_the_file_is_refused(tmp_path: Path, two_level: tuple[Path, int]) -> None:
    path, root = two_level
    bad = _corrupt_copy(path, tmp_path / "far.sqlite", (root - 1) * 4096 + 8, struct.pack(">I", 10_000))
    with pytest.raises(TileLocatorError) as err:
        locate_tiles(bad.read_bytes(), root)
    assert err.value.where == "page 10000"


def test_not_an_sqlite_file_is_refused() -> None:
    with pytest.raises(TileLocatorError, match="not an SQLite 3 database"):
        locate_tiles(b"\x89PNG" + bytes(200), 2)


def test_a_table_with_other_columns_is_refused_by_schema(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    conn.execute("INSERT INTO tiles VALUES (18, 1, 2, x'00')")
    conn.commit()
    conn.close()
    with pytest.raises(TileLocatorError) as err:
        locate_container(path)
    assert err.value.where == "schema"


# -- the cache's reads ---------------------------------------------------------------

@pytest.mark.parametrize("mmap_bytes", [1 << 30, 0], ids=["mmap", "pread"])
def test_the_cache_reads_every_tile_directly_and_correctly(sim: CacheSimulator, state: Path, clock: FakeClock,
                                                            mmap_bytes: int) -> None:
    d = sim.build("a")
    with open_cache(d, trusted_keys=[sim.public_key], state_path=state, clock=clock,
                    options=VerifyOptions(tile_mmap_bytes=mmap_bytes)) as cache:
        assert cache.tiles_read_directly == len(cache.tiles()) == 9
        truth = synthetic_tiles()
        for t in cache.tiles():
            assert cache.read_tile(t) == truth[t]


def test_wrong_locations_never_return_wrong_bytes_sqlite_decides(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    with open_cache(d, trusted_keys=[sim.public_key], state_path=state, clock=clock) as cache:
        tiles = cache.tiles()
        # Every tile's ranges point at the next tile's bytes: each direct read fails its
        # hash and the read is answered through SQLite instead.
        keys = [(t.z, t.x, t.y) for t in tiles]
        shifted = {k: cache._extents[keys[(i + 1) % len(keys)]] for i, k in enumerate(keys)}
        cache._extents = shifted
        truth = synthetic_tiles()
        assert [cache.read_tile(t) for t in tiles] == [truth[t] for t in tiles]


def test_a_container_the_locator_cannot_read_still_loads_and_reads(sim: CacheSimulator, state: Path, clock: FakeClock,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gps_denied_onboard.components.c4_map_cache import verify

    def refuse(path: Path) -> TileExtents:
        raise TileLocatorError("page 2", "page type 0x0a in a table B-tree")

    monkeypatch.setattr(verify, "locate_container", refuse)
    d = sim.build("a")
    with open_cache(d, trusted_keys=[sim.public_key], state_path=state, clock=clock) as cache:
        assert cache.tiles_read_directly == 0
        truth = synthetic_tiles()
        assert all(cache.read_tile(t) == truth[t] for t in cache.tiles())
