"""Load-time verification of a provisioned cache (TUF-style client rules).

Order, each step refusing with a typed error that names the file:
  1. manifest.json and manifest.sig read with hard size caps (endless data);
  2. the signature verifies with a trusted Ed25519 key (arbitrary installation);
  3. only then the manifest is parsed and validated;
  4. expiry against one verification time fixed at the start (indefinite freeze);
  5. version >= the highest accepted from that key, persisted (rollback);
  6. every listed file: exact length (truncation / oversized), then SHA-256;
     tiles.sqlite must carry the manifest's cache id (mix-and-match);
  7. the Merkle root over (z, x, y, sha256) rows equals the signed one; the
     verified per-tile hashes are kept in memory and checked on every read.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gps_denied_onboard.clock import Clock, WallClock, iso_from_unix_ns
from gps_denied_onboard.components.c4_map_cache.cache import VerifiedCache
from gps_denied_onboard.components.c4_map_cache.errors import (
    BadSignatureError,
    CacheIntegrityError,
    CacheLayoutError,
    ExpiredManifestError,
    FlightMismatchError,
    HashMismatchError,
    LengthMismatchError,
    MixAndMatchError,
    OversizedFileError,
    RollbackError,
    TileLocatorError,
    UntrustedKeyError,
)
from gps_denied_onboard.components.c4_map_cache.layout import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    TILES_HASH_SCAN,
    TILES_NAME,
    merkle_root_zxy,
    public_key_id,
)
from gps_denied_onboard.components.c4_map_cache.manifest import FileEntry, Manifest, parse_manifest
from gps_denied_onboard.components.c4_map_cache.tile_locator import TileExtents, locate_container
from gps_denied_onboard.components.c4_map_cache.versions import AcceptedVersionStore
from gps_denied_onboard.logging import get_logger

_log = get_logger("c4_map_cache")

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_SIGNATURE_BYTES = 4096
MAX_FILE_BYTES = 64 * 1024**3
# Address space, not memory: pages are mapped in as the route touches tiles and stay
# reclaimable page cache. 1 GiB covers a cache of ~80 000 tiles at 12 KiB.
DEFAULT_TILE_MMAP_BYTES = 1 << 30
# Files up to this size are read once into memory and parsed from the verified bytes
# (no window between hashing and use); larger ones are streamed.
_IN_MEMORY_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 20

PublicKeyLike = Ed25519PublicKey | bytes | str | os.PathLike[str]


@dataclass(frozen=True)
class VerifyOptions:
    """Verification policy. `allow_expired` is the explicit override for an expired manifest.
    `direct_tile_reads` reads tiles straight from their byte ranges in the container (found
    at load by `tile_locator`; every read still hash-checked); False reads every tile
    through SQLite. `tile_mmap_bytes` caps how much of the container direct reads take
    through a memory map (the rest, and everything when 0, with pread)."""

    allow_expired: bool = False
    expected_flight_id: str | None = None
    max_manifest_bytes: int = MAX_MANIFEST_BYTES
    max_file_bytes: int = MAX_FILE_BYTES
    tile_mmap_bytes: int = DEFAULT_TILE_MMAP_BYTES  # 0: plain pread() tile reads
    direct_tile_reads: bool = True


def load_public_key(key: PublicKeyLike) -> Ed25519PublicKey:
    """An Ed25519 public key from a key object, PEM bytes, or a PEM file path."""
    if isinstance(key, Ed25519PublicKey):
        return key
    source = "<pem bytes>"
    if isinstance(key, (str, os.PathLike)):
        source = str(key)
        try:
            key = Path(key).read_bytes()
        except OSError as exc:
            raise CacheLayoutError(source, f"cannot read trusted public key: {exc.strerror}") from exc
    try:
        loaded = serialization.load_pem_public_key(key)
    except ValueError as exc:
        raise CacheLayoutError(source, f"not a PEM public key: {exc}") from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise CacheLayoutError(source, f"trusted key is {type(loaded).__name__}, expected Ed25519")
    return loaded


def _read_capped(path: Path, cap: int, name: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)
    except FileNotFoundError:
        raise CacheLayoutError(name, "missing") from None
    except OSError as exc:
        raise CacheLayoutError(name, f"cannot read: {exc.strerror}") from exc
    if len(data) > cap:
        raise OversizedFileError(name, cap, os.path.getsize(path))
    return data


def _verify_signature(manifest_bytes: bytes, sig_bytes: bytes, trusted: dict[str, Ed25519PublicKey]) -> str:
    try:
        sig_doc = json.loads(sig_bytes.decode("utf-8"))
        key_id = sig_doc["key_id"]
        signature = bytes.fromhex(sig_doc["sig"])
        alg = sig_doc["alg"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BadSignatureError(SIGNATURE_NAME, "not a {alg, key_id, sig} signature document") from None
    if alg != "ed25519":
        raise BadSignatureError(SIGNATURE_NAME, f"unsupported signature algorithm {alg!r}")
    if not isinstance(key_id, str) or key_id not in trusted:
        raise UntrustedKeyError(SIGNATURE_NAME, str(key_id))
    try:
        trusted[key_id].verify(signature, manifest_bytes)
    except InvalidSignature:
        raise BadSignatureError(MANIFEST_NAME, f"Ed25519 signature by key {key_id[:16]}… does not verify") from None
    return key_id


def _hash_stream(path: Path, length: int) -> str:
    h = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    remaining = length
    with open(path, "rb", buffering=0) as fh:
        while remaining > 0:
            n = fh.readinto(view[: min(remaining, _CHUNK)])
            if not n:
                break
            h.update(view[:n])
            remaining -= n
    return h.hexdigest()


def _check_file(root: Path, entry: FileEntry, options: VerifyOptions, manifest: Manifest) -> bytes | None:
    """Verify one listed file; returns its bytes when small enough to keep."""
    path = root / entry.path
    if entry.length > options.max_file_bytes:
        raise OversizedFileError(entry.path, options.max_file_bytes, entry.length)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise CacheLayoutError(entry.path, "listed in the manifest but missing") from None
    if size > entry.length:
        raise OversizedFileError(entry.path, entry.length, size)
    if size < entry.length:
        raise LengthMismatchError(entry.path, entry.length, size)
    if entry.path == TILES_NAME:
        _check_tiles_cache_id(path, manifest)
    if entry.chunk_sha256:
        if entry.length <= _IN_MEMORY_BYTES and entry.path != TILES_NAME:
            data = _read_capped(path, entry.length, entry.path)
            view = memoryview(data)
            _check_chunks(entry, lambda start, n: hashlib.sha256(view[start:start + n]).hexdigest())
            return data
        _check_chunks(entry, lambda start, n: _hash_range(path, start, n))
        return None
    if entry.length <= _IN_MEMORY_BYTES and entry.path != TILES_NAME:
        data = _read_capped(path, entry.length, entry.path)
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise HashMismatchError(entry.path, entry.sha256, actual)
        return data
    actual = _hash_stream(path, entry.length)
    if actual != entry.sha256:
        raise HashMismatchError(entry.path, entry.sha256, actual)
    return None


def _hash_range(path: Path, start: int, length: int) -> str:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        pos, end = start, start + length
        while pos < end:
            piece = os.pread(fd, min(_CHUNK, end - pos), pos)
            if not piece:
                break
            h.update(piece)
            pos += len(piece)
    finally:
        os.close(fd)
    return h.hexdigest()


def _check_chunks(entry: FileEntry, hash_range: Callable[[int, int], str]) -> None:
    """Verify a large file chunk by chunk on every core (SHA-256 is sequential within a
    chunk; hashlib releases the GIL). Each byte is bound by a signed chunk hash."""
    step = entry.chunk_bytes
    ranges = [(i * step, min(step, entry.length - i * step)) for i in range(len(entry.chunk_sha256))]
    workers = max(1, min(len(ranges), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c4-hash") as pool:
        digests = list(pool.map(lambda r: hash_range(*r), ranges))
    for i, ((start, n), digest) in enumerate(zip(ranges, digests, strict=True)):
        if digest != entry.chunk_sha256[i]:
            raise HashMismatchError(f"{entry.path} (bytes {start}..{start + n - 1})", entry.chunk_sha256[i], digest)


def _check_tiles_cache_id(path: Path, manifest: Manifest) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM metadata WHERE name = 'cache_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return  # not readable as SQLite: the hash check that follows refuses it
    if row is not None and row[0] != manifest.cache_id:
        raise MixAndMatchError(TILES_NAME, f"belongs to cache {row[0]}, the manifest is for cache {manifest.cache_id}")


def _tile_hashes(path: Path, manifest: Manifest) -> dict[tuple[int, int, int], bytes]:
    """{(z, x, y_xyz): sha256} of every row, checked against the signed Merkle root."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(TILES_HASH_SCAN).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CacheLayoutError(TILES_NAME, f"not a gdn tile container: {exc}") from exc
    flip = (1 << manifest.zoom) - 1
    hashes: dict[tuple[int, int, int], bytes] = {}
    for z, x, y_tms, digest in rows:
        if z != manifest.zoom or not isinstance(digest, bytes) or len(digest) != 32 or not 0 <= y_tms <= flip or not 0 <= x <= flip:
            raise CacheIntegrityError(TILES_NAME, f"tile row ({z}, {x}, {y_tms}) is not a zoom-{manifest.zoom} tile with a 32-byte hash")
        hashes[(z, x, flip - y_tms)] = digest
    if len(hashes) != manifest.tile_count:
        raise CacheIntegrityError(TILES_NAME, f"{len(hashes)} tiles, the manifest says {manifest.tile_count}")
    root = merkle_root_zxy((z, x, y, d) for (z, x, y), d in hashes.items())
    if root != manifest.merkle_root:
        raise MixAndMatchError(TILES_NAME, f"tile Merkle root {root} is not the signed {manifest.merkle_root}")
    return hashes


def open_cache(
    cache_dir: str | os.PathLike[str],
    *,
    trusted_keys: Sequence[PublicKeyLike],
    state_path: str | os.PathLike[str],
    clock: Clock | None = None,
    options: VerifyOptions | None = None,
) -> VerifiedCache:
    """Verify a provisioned cache completely and open it read-only.

    `trusted_keys`: the operator public keys this vehicle trusts (never taken from
    the cache itself). `state_path`: where the highest accepted version per key is
    persisted. Raises a `CacheIntegrityError` subclass naming the file on any refusal.
    """
    opts = options or VerifyOptions()
    clk = clock or WallClock()
    now_ns = clk.unix_ns()  # one verification time for the whole load (TUF: fixed start time)
    root = Path(cache_dir)
    if not root.is_dir():
        raise CacheLayoutError(str(root), "not a directory")
    if not trusted_keys:
        raise CacheLayoutError(str(root), "no trusted operator keys configured")
    trusted = {public_key_id(k): k for k in (load_public_key(k) for k in trusted_keys)}
    manifest_bytes = _read_capped(root / MANIFEST_NAME, opts.max_manifest_bytes, MANIFEST_NAME)
    sig_bytes = _read_capped(root / SIGNATURE_NAME, MAX_SIGNATURE_BYTES, SIGNATURE_NAME)
    key_id = _verify_signature(manifest_bytes, sig_bytes, trusted)
    manifest = parse_manifest(manifest_bytes)
    if manifest.key_id != key_id:
        raise BadSignatureError(MANIFEST_NAME, f"names key {manifest.key_id[:16]}… but is signed by {key_id[:16]}…")
    expired = manifest.expires_unix_s * 1e9 <= now_ns
    if expired and not opts.allow_expired:
        raise ExpiredManifestError(MANIFEST_NAME, manifest.expires, iso_from_unix_ns(now_ns))
    store = AcceptedVersionStore(Path(state_path))
    highest = store.highest(key_id)
    if manifest.version < highest:
        raise RollbackError(MANIFEST_NAME, manifest.version, highest)
    if opts.expected_flight_id is not None and manifest.flight_id != opts.expected_flight_id:
        raise FlightMismatchError(MANIFEST_NAME, f"provisioned for flight {manifest.flight_id}, expected {opts.expected_flight_id}")
    if manifest.file(TILES_NAME) is None:
        raise CacheLayoutError(TILES_NAME, "not listed in the manifest")
    kept: dict[str, bytes] = {}
    # The tile-hash scan + Merkle root and the tile locator (both mostly Python) run beside
    # the file hashing (hashlib releases the GIL): file errors are reported first, then the
    # Merkle check. The locator reads the container before its hash is checked, which is
    # safe: it only says where to read, and every read is checked against the signed hash.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="c4-merkle") as pool:
        merkle = pool.submit(_tile_hashes, root / TILES_NAME, manifest)
        located = pool.submit(_locate, root / TILES_NAME) if opts.direct_tile_reads else None
        for entry in manifest.files:
            data = _check_file(root, entry, opts, manifest)
            if data is not None:
                kept[entry.path] = data
        hashes = merkle.result()
        extents = located.result() if located is not None else None
    store.accept(key_id, manifest.version)
    if expired:
        _log.warning("expired map cache accepted by explicit override", kind="c4_cache_expired_override",
                     cache_id=manifest.cache_id, expires=manifest.expires)
    cache = VerifiedCache(root, manifest, hashes, kept, expired=expired, tile_mmap_bytes=opts.tile_mmap_bytes,
                          tile_extents=extents)
    _log.info("map cache verified", kind="c4_cache_verified", cache_id=manifest.cache_id, version=manifest.version,
              tiles=len(hashes), files=len(manifest.files), tiles_read_directly=cache.tiles_read_directly)
    return cache


def _locate(path: Path) -> TileExtents | None:
    """The container's tile locations, or None (every tile read through SQLite, a warning)."""
    try:
        return locate_container(path)
    except TileLocatorError as exc:
        _log.warning("tile locator unavailable: tiles are read through SQLite", kind="c4_tile_locator_unavailable",
                     where=exc.where, reason=exc.reason)
        return None
