"""C4 load-time verification, one test per attack it stops (modelled on python-tuf's
client tests: a repository simulator, a frozen clock, tables of tampering)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cache_simulator import NOW, CacheSimulator, synthetic_tiles
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gps_denied_onboard._types import xyz_to_tms
from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import (
    DEFAULT_TILE_MMAP_BYTES,
    AcceptedVersionStore,
    BadSignatureError,
    CacheLayoutError,
    ExpiredManifestError,
    FlightMismatchError,
    HashMismatchError,
    LengthMismatchError,
    ManifestFormatError,
    MixAndMatchError,
    OversizedFileError,
    RollbackError,
    TileIntegrityError,
    UntrustedKeyError,
    VerifyOptions,
    open_cache,
    public_key_id,
)


def _open(sim: CacheSimulator, d: Path, state: Path, clock: FakeClock, **opts: object):  # type: ignore[no-untyped-def]
    return open_cache(d, trusted_keys=[sim.public_key], state_path=state, clock=clock, options=VerifyOptions(**opts))  # type: ignore[arg-type]


def test_untampered_cache_loads_and_every_tile_reads(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    with _open(sim, d, state, clock) as cache:
        tiles = cache.tiles()
        assert len(tiles) == 9
        for t in tiles:
            assert cache.read_tile(t) == synthetic_tiles()[t]
        assert cache.camera_model().width == 640
        assert not cache.expired


def test_trusted_key_from_pem_file(sim: CacheSimulator, state: Path, clock: FakeClock, tmp_path: Path) -> None:
    pem = tmp_path / "op.pub.pem"
    pem.write_bytes(sim.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    open_cache(sim.build("a"), trusted_keys=[pem], state_path=state, clock=clock).close()


# -- arbitrary installation ------------------------------------------------------
def test_manifest_edited_after_signing_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    body = (d / "manifest.json").read_bytes().replace(b'"version":1', b'"version":9')
    (d / "manifest.json").write_bytes(body)
    with pytest.raises(BadSignatureError, match="manifest.json"):
        _open(sim, d, state, clock)


def test_cache_signed_by_an_untrusted_key_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    attacker = Ed25519PrivateKey.generate()
    sim.resign(d, lambda doc: None)
    doc = json.loads((d / "manifest.json").read_bytes())
    doc["key_id"] = public_key_id(attacker.public_key())
    sim.sign(d, doc, key=attacker)
    with pytest.raises(UntrustedKeyError) as err:
        _open(sim, d, state, clock)
    assert err.value.key_id == public_key_id(attacker.public_key())


def test_signature_from_another_cache_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    a, b = sim.build("a"), sim.build("b")
    shutil.copy(b / "manifest.sig", a / "manifest.sig")
    with pytest.raises(BadSignatureError):
        _open(sim, a, state, clock)


def test_garbage_signature_document_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    (d / "manifest.sig").write_bytes(b"\x00\x01not json")
    with pytest.raises(BadSignatureError, match="manifest.sig"):
        _open(sim, d, state, clock)


# -- hashes and lengths ------------------------------------------------------------
@pytest.mark.parametrize("path", ["calibration/camera.yaml", "descriptors/global.npy", "descriptors/index.json", "tiles.sqlite"])
def test_flipped_byte_in_any_file_is_refused_naming_it(sim: CacheSimulator, state: Path, clock: FakeClock, path: str) -> None:
    d = sim.build("a")
    data = bytearray((d / path).read_bytes())
    data[len(data) // 2] ^= 0x01
    (d / path).write_bytes(bytes(data))
    with pytest.raises(HashMismatchError) as err:
        _open(sim, d, state, clock)
    assert err.value.path == path and path in str(err.value)


def test_truncated_file_is_refused_with_both_lengths(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    data = (d / "calibration/camera.yaml").read_bytes()
    (d / "calibration/camera.yaml").write_bytes(data[:-10])
    with pytest.raises(LengthMismatchError) as err:
        _open(sim, d, state, clock)
    assert (err.value.expected, err.value.actual) == (len(data), len(data) - 10)


def test_endless_data_appended_to_a_file_is_refused_as_oversized(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    with open(d / "tiles.sqlite", "ab") as fh:
        fh.write(b"\0" * 4096)
    with pytest.raises(OversizedFileError) as err:
        _open(sim, d, state, clock)
    assert err.value.path == "tiles.sqlite"


def test_oversized_manifest_is_refused_before_parsing(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    with pytest.raises(OversizedFileError, match="manifest.json"):
        _open(sim, d, state, clock, max_manifest_bytes=64)


def test_file_over_the_hard_cap_is_refused_even_if_signed(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    with pytest.raises(OversizedFileError):
        _open(sim, d, state, clock, max_file_bytes=100)


def test_missing_listed_file_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    (d / "descriptors/index.json").unlink()
    with pytest.raises(CacheLayoutError, match="descriptors/index.json"):
        _open(sim, d, state, clock)


@pytest.mark.parametrize("bad", ["../outside", "/etc/passwd", "a/../../b", "a\\b"])
def test_manifest_path_escaping_the_cache_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock, bad: str) -> None:
    d = sim.build("a")
    sim.resign(d, lambda doc: doc["files"].__setitem__(bad, {"length": 1, "sha256": "0" * 64}))
    with pytest.raises(ManifestFormatError) as err:
        _open(sim, d, state, clock)
    assert bad in str(err.value)


# -- rollback and freeze ---------------------------------------------------------------
def test_rollback_to_an_older_version_is_refused_and_persisted(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    old, new = sim.build("v1", version=1), sim.build("v2", version=2)
    _open(sim, new, state, clock).close()
    assert AcceptedVersionStore(state).highest(public_key_id(sim.public_key)) == 2
    with pytest.raises(RollbackError) as err:
        _open(sim, old, state, clock)  # a fresh open: the highest version came from disk
    assert (err.value.version, err.value.highest_accepted) == (1, 2)


def test_same_version_reloads_and_newer_versions_advance(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    v3 = sim.build("v3", version=3)
    _open(sim, v3, state, clock).close()
    _open(sim, v3, state, clock).close()
    _open(sim, sim.build("v7", version=7), state, clock).close()
    assert AcceptedVersionStore(state).highest(public_key_id(sim.public_key)) == 7


def test_refused_cache_does_not_advance_the_accepted_version(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("v5", version=5)
    (d / "calibration/camera.yaml").write_bytes(b"x" * (d / "calibration/camera.yaml").stat().st_size)
    with pytest.raises(HashMismatchError):
        _open(sim, d, state, clock)
    assert AcceptedVersionStore(state).highest(public_key_id(sim.public_key)) == 0


def test_corrupt_version_state_fails_closed(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    with pytest.raises(CacheLayoutError, match="accepted-version state"):
        _open(sim, sim.build("a"), state, clock)


def test_expired_manifest_is_refused_at_a_frozen_time(sim: CacheSimulator, state: Path) -> None:
    d = sim.build("a", expires=NOW + dt.timedelta(hours=1))
    clock = FakeClock()
    _open(sim, d, state, clock).close()
    clock.advance(3600.0)  # exactly at expiry: expired
    with pytest.raises(ExpiredManifestError) as err:
        _open(sim, d, state, clock)
    assert err.value.expires.startswith("2026-01-01T01:00:00")


def test_expired_manifest_loads_only_with_the_explicit_override(sim: CacheSimulator, state: Path) -> None:
    d = sim.build("a", expires=NOW - dt.timedelta(days=1))
    with _open(sim, d, state, FakeClock(), allow_expired=True) as cache:
        assert cache.expired


# -- mix-and-match and wrong cache -----------------------------------------------------
def test_tile_container_from_another_cache_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    a, b = sim.build("a"), sim.build("b", tiles=synthetic_tiles(seed=1))
    shutil.copy(b / "tiles.sqlite", a / "tiles.sqlite")
    sim.relist(a, "tiles.sqlite")  # even with lengths/hashes re-signed, the container names cache b
    with pytest.raises(MixAndMatchError, match="tiles.sqlite"):
        _open(sim, a, state, clock)


def test_tile_row_from_another_cache_breaks_the_merkle_root(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    a = sim.build("a")
    other = synthetic_tiles(seed=1)
    t = sorted(other)[0]
    conn = sqlite3.connect(a / "tiles.sqlite")
    conn.execute("UPDATE tiles SET tile_data=?, tile_sha256=? WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                 (other[t], hashlib.sha256(other[t]).digest(), *xyz_to_tms(t)))
    conn.commit()
    conn.close()
    sim.relist(a, "tiles.sqlite")  # file hash re-signed; the Merkle root still binds the original tiles
    with pytest.raises(MixAndMatchError, match="Merkle"):
        _open(sim, a, state, clock)


def _rewrite_tile(d: Path, t: object, data: bytes) -> None:
    conn = sqlite3.connect(d / "tiles.sqlite")
    conn.execute("UPDATE tiles SET tile_data=?, tile_sha256=? WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                 (data, hashlib.sha256(data).digest(), *xyz_to_tms(t)))  # type: ignore[arg-type]
    conn.commit()
    conn.close()


# Both read paths: through the memory map (the default) and plain pread().
READ_PATHS = pytest.mark.parametrize("mmap_bytes", [DEFAULT_TILE_MMAP_BYTES, 0], ids=["mmap", "pread"])


@READ_PATHS
def test_tile_bit_rot_after_load_is_refused_on_read(sim: CacheSimulator, state: Path, clock: FakeClock, mmap_bytes: int) -> None:
    a = sim.build("a")
    cache = _open(sim, a, state, clock, tile_mmap_bytes=mmap_bytes)
    t = cache.tiles()[4]
    rotten = bytearray(synthetic_tiles()[t])  # (a tile already read is served from the verified page cache)
    rotten[len(rotten) // 2] ^= 0x10
    _rewrite_tile(a, t, bytes(rotten))  # same size: rewritten in place, row hash "fixed up" too
    with pytest.raises(TileIntegrityError) as err:
        cache.read_tile(t)
    assert err.value.tile == t and err.value.actual == hashlib.sha256(bytes(rotten)).hexdigest()
    cache.read_tile(cache.tiles()[0])  # untouched tiles still read
    cache.close()


@READ_PATHS
def test_tile_swapped_in_from_another_cache_after_load_is_refused_on_read(sim: CacheSimulator, state: Path, clock: FakeClock,
                                                                           mmap_bytes: int) -> None:
    a = sim.build("a")
    cache = _open(sim, a, state, clock, tile_mmap_bytes=mmap_bytes)
    t = cache.tiles()[4]
    _rewrite_tile(a, t, synthetic_tiles(seed=1)[t])
    with pytest.raises(TileIntegrityError) as err:
        cache.read_tile(t)
    assert err.value.tile == t
    cache.close()


@READ_PATHS
def test_tile_container_truncated_after_load_is_refused_on_read_not_a_crash(sim: CacheSimulator, state: Path, clock: FakeClock,
                                                                             mmap_bytes: int) -> None:
    # Under a memory map, touching a page past a truncated end is SIGBUS: the process
    # would die. The read must come back as a typed refusal instead, and keep doing so.
    a = sim.build("a")
    cache = _open(sim, a, state, clock, tile_mmap_bytes=mmap_bytes)
    tiles = cache.tiles()
    good = {t: cache.read_tile(t) for t in tiles}  # every page mapped and touched once
    db = a / "tiles.sqlite"
    os.truncate(db, db.stat().st_size // 3)
    outcomes = []
    for t in tiles:
        try:
            outcomes.append(cache.read_tile(t) == good[t])
        except TileIntegrityError as exc:
            assert exc.tile == t
            outcomes.append(False)
    # Every read is the verified bytes or a typed refusal (with pread, a short read fails
    # its hash and goes to SQLite, which may still serve the tile from its own page
    # cache); through the map, the size guard refuses before any page is touched.
    if mmap_bytes:
        assert not any(outcomes)
    cache.close()


def test_cache_for_another_flight_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a", flight_id="6f1c2f0e-0000-4000-8000-000000000001")
    with pytest.raises(FlightMismatchError):
        _open(sim, d, state, clock, expected_flight_id="6f1c2f0e-0000-4000-8000-000000000002")
    _open(sim, d, state, clock, expected_flight_id="6f1c2f0e-0000-4000-8000-000000000001").close()


@pytest.mark.parametrize(("field", "value"), [("format", "gdn-cache/0"), ("version", 0), ("zoom", 40),
                                               ("cache_id", "nope"), ("expires", "tomorrow")])
def test_malformed_signed_field_is_refused_naming_it(sim: CacheSimulator, state: Path, clock: FakeClock, field: str, value: object) -> None:
    d = sim.build("a")
    sim.resign(d, lambda doc: doc.__setitem__(field, value))
    with pytest.raises(ManifestFormatError) as err:
        _open(sim, d, state, clock)
    assert err.value.key == field and err.value.value == value


def _chunked(sim: CacheSimulator, d: Path, chunk: int = 4096) -> None:
    data = (d / "tiles.sqlite").read_bytes()
    chunks = [hashlib.sha256(data[i:i + chunk]).hexdigest() for i in range(0, len(data), chunk)]
    sim.resign(d, lambda doc: doc["files"]["tiles.sqlite"].update(chunk_bytes=chunk, chunk_sha256=chunks))


def test_large_file_verified_by_chunks_loads(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    _chunked(sim, d)
    _open(sim, d, state, clock).close()


def test_flipped_byte_in_a_chunked_file_is_refused_naming_the_range(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    _chunked(sim, d)
    data = bytearray((d / "tiles.sqlite").read_bytes())
    data[5000] ^= 0x01
    (d / "tiles.sqlite").write_bytes(bytes(data))
    with pytest.raises(HashMismatchError) as err:
        _open(sim, d, state, clock)
    assert err.value.path == "tiles.sqlite (bytes 4096..8191)"


def test_chunk_list_that_does_not_cover_the_file_is_refused(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    _chunked(sim, d)
    sim.resign(d, lambda doc: doc["files"]["tiles.sqlite"]["chunk_sha256"].pop())
    with pytest.raises(ManifestFormatError, match="chunk"):
        _open(sim, d, state, clock)


WEIRD = [None, True, -1, 0, 1e308, "x", "", [], {}, [1, 2], {"a": 1}]
FIELDS = ["format", "cache_id", "version", "created", "expires", "bbox", "zoom", "tile_size", "takeoff_origin",
          "flight_id", "build_identity", "files", "tiles", "calibration", "engines", "descriptors", "key_id"]


@pytest.mark.parametrize("field", FIELDS)
def test_any_signed_garbage_in_a_field_is_a_typed_refusal_never_a_crash(sim: CacheSimulator, state: Path, clock: FakeClock, field: str) -> None:
    """A signer bug (or a compromised build machine) must not crash the flight computer."""
    from gps_denied_onboard.components.c4_map_cache import MapCacheError

    d = sim.build("a")
    original = json.loads((d / "manifest.json").read_bytes())
    for value in WEIRD:
        sim.resign(d, lambda doc, v=value: (doc.clear(), doc.update(original), doc.__setitem__(field, v)))
        try:
            cache = _open(sim, d, state, clock)
        except MapCacheError:
            continue
        cache.descriptors()  # a signed-but-odd optional block must also fail typed, if at all
        cache.close()


def _open_resigned(sim: CacheSimulator, d: Path, state: Path, clock: FakeClock, original: dict,
                   change: Callable[[dict], None]) -> None:
    """Re-sign `d` with a fresh copy of `original` altered by `change`, then open it: a
    refusal must be a typed MapCacheError (anything else fails the test); acceptance is fine."""
    from gps_denied_onboard.components.c4_map_cache import MapCacheError

    def mutate(doc: dict) -> None:
        doc.clear()
        doc.update(json.loads(json.dumps(original)))
        change(doc)
    sim.resign(d, mutate)
    try:
        _open(sim, d, state, clock).close()
    except MapCacheError:
        pass


NESTED = [("bbox", "lat_min"), ("tiles", "count"), ("tiles", "merkle_root"), ("calibration", "path"),
          ("calibration", "sha256"), ("takeoff_origin", "lat_deg")]


@pytest.mark.parametrize(("outer", "inner"), NESTED)
def test_signed_garbage_in_a_nested_field_is_a_typed_refusal(sim: CacheSimulator, state: Path, clock: FakeClock, outer: str, inner: str) -> None:
    d = sim.build("a", takeoff=(45.5012, 15.0031, 300.0))
    original = json.loads((d / "manifest.json").read_bytes())
    for value in WEIRD + [95.0, -400.0]:
        _open_resigned(sim, d, state, clock, original, lambda doc, v=value: doc[outer].update({inner: v}))


def test_signed_garbage_in_a_file_entry_is_a_typed_refusal(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    original = json.loads((d / "manifest.json").read_bytes())
    for key in ("length", "sha256", "chunk_bytes", "chunk_sha256"):
        for value in WEIRD + [2**70]:
            _open_resigned(sim, d, state, clock, original,
                           lambda doc, k=key, v=value: doc["files"]["tiles.sqlite"].update({k: v}))


def test_chunked_small_artefacts_are_kept_verified_in_memory(sim: CacheSimulator, state: Path, clock: FakeClock) -> None:
    d = sim.build("a")
    data = (d / "descriptors/global.npy").read_bytes()
    chunks = [hashlib.sha256(data[i:i + 4096]).hexdigest() for i in range(0, len(data), 4096)]
    sim.resign(d, lambda doc: doc["files"]["descriptors/global.npy"].update(chunk_bytes=4096, chunk_sha256=chunks))
    with _open(sim, d, state, clock) as cache:
        index = cache.descriptors()
        assert index is not None and len(index) == 9
