"""ManifestBuilder: the canonical, signed description of a built cache.

Every file in the cache directory (except the manifest and its signature) is
listed with its length and SHA-256; tiles are bound by a Merkle root; the
manifest is signed with the operator's Ed25519 key (docs/contracts/cache-manifest.md).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard.clock import Clock, WallClock, iso_from_unix_ns
from gps_denied_onboard.components.c4_map_cache import (
    CACHE_FORMAT,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    canonical_json,
    public_key_id,
)
from gps_denied_onboard.components.c10_provisioning.interface import EngineArtifact
from gps_denied_onboard.components.c10_provisioning.keys import operator_key
from gps_denied_onboard.helpers import atomic_write_bytes, sha256_file

MANIFEST_SCHEMA_VERSION = "1.1"  # 1.1: optional chunk_bytes / chunk_sha256 per file
CHUNK_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ManifestFields:
    """The content of a manifest that is not derived from the files on disk."""

    cache_id: str
    version: int
    bbox: tuple[float, float, float, float]
    zoom: int
    tile_size: int
    takeoff_origin: LatLonAlt | None
    flight_id: str | None
    build_identity: str
    source_description: str
    source_identity: str
    tile_count: int
    merkle_root: str
    calibration_path: str
    engines: tuple[EngineArtifact, ...]
    descriptors: dict[str, Any] | None
    coverage: float
    validity_s: float


class ManifestBuilder:
    """Builds, signs and writes manifest.json + manifest.sig into a cache directory."""

    def __init__(self, clock: Clock | None = None, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._clock = clock or WallClock()
        self._chunk = max(4096, chunk_bytes)

    def list_files(self, cache_dir: Path) -> dict[str, dict[str, Any]]:
        """{relative path: {length, sha256[, chunk_bytes, chunk_sha256]}} of every regular file
        but the manifest and signature; files over `chunk_bytes` also list per-chunk hashes
        (the onboard verifier checks those in parallel)."""
        out: dict[str, dict[str, Any]] = {}
        for root, dirs, files in os.walk(cache_dir):
            dirs.sort()
            for name in sorted(files):
                full = Path(root) / name
                rel = full.relative_to(cache_dir).as_posix()
                if rel in (MANIFEST_NAME, SIGNATURE_NAME):
                    continue
                out[rel] = self._hashes(full)
        return out

    def _hashes(self, path: Path) -> dict[str, Any]:
        size = path.stat().st_size
        if size <= self._chunk:
            return {"length": size, "sha256": sha256_file(path)}
        whole = hashlib.sha256()
        chunks = []
        with open(path, "rb") as fh:
            while block := fh.read(self._chunk):
                whole.update(block)
                chunks.append(hashlib.sha256(block).hexdigest())
        return {"length": size, "sha256": whole.hexdigest(), "chunk_bytes": self._chunk, "chunk_sha256": chunks}

    def document(self, cache_dir: Path, fields: ManifestFields, key_id: str) -> dict[str, Any]:
        """The manifest document (before canonical encoding)."""
        now_ns = self._clock.unix_ns()
        files = self.list_files(cache_dir)
        calib = files[fields.calibration_path]
        origin = fields.takeoff_origin
        return {
            "format": CACHE_FORMAT,
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "cache_id": fields.cache_id,
            "version": fields.version,
            "created": iso_from_unix_ns(now_ns),
            "expires": iso_from_unix_ns(now_ns + int(fields.validity_s * 1e9)),
            "bbox": dict(zip(("lat_min", "lon_min", "lat_max", "lon_max"), fields.bbox, strict=True)),
            "zoom": fields.zoom,
            "tile_size": fields.tile_size,
            "takeoff_origin": None if origin is None else {"lat_deg": origin.lat_deg, "lon_deg": origin.lon_deg, "alt_m": origin.alt_m},
            "flight_id": fields.flight_id,
            "build_identity": fields.build_identity,
            "source": {"description": fields.source_description, "identity": fields.source_identity},
            "files": files,
            "tiles": {"count": fields.tile_count, "merkle_root": fields.merkle_root, "scheme": "tms", "hash": "sha256"},
            "calibration": {"path": fields.calibration_path, "sha256": calib["sha256"]},
            "engines": [
                {"path": e.path.relative_to(cache_dir).as_posix(), "model": e.model, "model_sha256": e.model_sha256,
                 "backend": e.backend, "runtime_version": e.runtime_version, "gpu_arch": e.gpu_arch, "fp16": e.fp16,
                 "sha256": e.sha256}
                for e in fields.engines
            ],
            "descriptors": fields.descriptors,
            "coverage": round(fields.coverage, 6),
            "key_id": key_id,
        }

    def write(self, cache_dir: Path, fields: ManifestFields, key_path: Path) -> tuple[bytes, str]:
        """Sign and write the manifest; returns (manifest bytes, their SHA-256 hex)."""
        with operator_key(key_path) as key:
            key_id = public_key_id(key.public_key())
            body = canonical_json(self.document(cache_dir, fields, key_id))
            signature = key.sign(body)
        sig_doc = canonical_json({"alg": "ed25519", "key_id": key_id, "sig": signature.hex()})
        atomic_write_bytes(cache_dir / MANIFEST_NAME, body)
        atomic_write_bytes(cache_dir / SIGNATURE_NAME, sig_doc)
        return body, hashlib.sha256(body).hexdigest()
