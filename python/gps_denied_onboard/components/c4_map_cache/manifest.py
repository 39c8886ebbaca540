"""The signed manifest as a typed, validated value (parsed only after its signature verified)."""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard._types.tiles import MAX_ZOOM
from gps_denied_onboard.components.c4_map_cache.errors import ManifestFormatError
from gps_denied_onboard.components.c4_map_cache.layout import CACHE_FORMAT, MANIFEST_NAME

MIN_CHUNK_BYTES = 4096
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    """One signed file: relative POSIX path, exact length, SHA-256 hex; large files also
    carry the SHA-256 of each `chunk_bytes` piece so they can be verified in parallel."""

    path: str
    length: int
    sha256: str
    chunk_bytes: int = 0
    chunk_sha256: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineEntry:
    """One inference artefact: which model, for which runtime, where."""

    path: str
    model: str
    model_sha256: str
    backend: str
    runtime_version: str
    gpu_arch: str
    fp16: bool
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A verified manifest. `raw` keeps the whole document (forward-compatible fields included)."""

    cache_id: str
    version: int
    created_unix_s: float
    expires_unix_s: float
    created: str
    expires: str
    bbox: tuple[float, float, float, float]  # lat_min, lon_min, lat_max, lon_max
    zoom: int
    tile_size: int
    takeoff_origin: LatLonAlt | None
    flight_id: str | None
    build_identity: str
    files: tuple[FileEntry, ...]
    tile_count: int
    merkle_root: str
    calibration_path: str
    calibration_sha256: str
    engines: tuple[EngineEntry, ...]
    descriptors: dict[str, Any] | None
    key_id: str
    raw: dict[str, Any]

    def file(self, path: str) -> FileEntry | None:
        for entry in self.files:
            if entry.path == path:
                return entry
        return None


def _get(doc: dict[str, Any], key: str, typ: type | tuple[type, ...], expected: str, where: str = "") -> Any:
    name = f"{where}{key}"
    if key not in doc:
        raise ManifestFormatError(MANIFEST_NAME, name, None, f"{expected} (missing)")
    value = doc[key]
    if not isinstance(value, typ) or (isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,))):
        raise ManifestFormatError(MANIFEST_NAME, name, value, expected)
    return value


def _hex64(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise ManifestFormatError(MANIFEST_NAME, key, value, "64 lowercase hex digits (SHA-256)")
    return value


def _iso(value: Any, key: str) -> float:
    if not isinstance(value, str):
        raise ManifestFormatError(MANIFEST_NAME, key, value, "an ISO-8601 UTC time string")
    try:
        stamp = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise ManifestFormatError(MANIFEST_NAME, key, value, "an ISO-8601 UTC time string") from None
    if stamp.tzinfo is None:
        raise ManifestFormatError(MANIFEST_NAME, key, value, "an ISO-8601 time with a UTC offset")
    return stamp.timestamp()


def safe_relpath(value: Any, key: str) -> str:
    """A cache-relative POSIX path that cannot escape the cache directory."""
    if not isinstance(value, str) or not value:
        raise ManifestFormatError(MANIFEST_NAME, key, value, "a relative path inside the cache")
    p = PurePosixPath(value)
    if p.is_absolute() or ".." in p.parts or "\\" in value or str(p) != value:
        raise ManifestFormatError(MANIFEST_NAME, key, value, "a normalised relative path inside the cache")
    return value


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes (call only after the signature verified)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestFormatError(MANIFEST_NAME, "<document>", str(exc)[:80], "a JSON object") from None
    if not isinstance(doc, dict):
        raise ManifestFormatError(MANIFEST_NAME, "<document>", type(doc).__name__, "a JSON object")
    fmt = _get(doc, "format", str, "a string")
    if fmt != CACHE_FORMAT:
        raise ManifestFormatError(MANIFEST_NAME, "format", fmt, CACHE_FORMAT)
    cache_id = _get(doc, "cache_id", str, "a UUID string")
    try:
        UUID(cache_id)
    except ValueError:
        raise ManifestFormatError(MANIFEST_NAME, "cache_id", cache_id, "a UUID string") from None
    version = _get(doc, "version", int, "a positive integer")
    if version < 1:
        raise ManifestFormatError(MANIFEST_NAME, "version", version, "a positive integer")
    bbox_doc = _get(doc, "bbox", dict, "an object")
    bbox = tuple(float(_get(bbox_doc, k, (int, float), "a number", "bbox.")) for k in ("lat_min", "lon_min", "lat_max", "lon_max"))
    if not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise ManifestFormatError(MANIFEST_NAME, "bbox", bbox_doc, "lat_min < lat_max and lon_min < lon_max")
    zoom = _get(doc, "zoom", int, "a zoom level")
    if not 0 <= zoom <= min(MAX_ZOOM, 29):
        raise ManifestFormatError(MANIFEST_NAME, "zoom", zoom, "a zoom level in [0, 29]")
    tile_size = _get(doc, "tile_size", int, "a positive integer")
    if tile_size <= 0:
        raise ManifestFormatError(MANIFEST_NAME, "tile_size", tile_size, "a positive integer")
    origin_doc = doc.get("takeoff_origin")
    origin: LatLonAlt | None = None
    if origin_doc is not None:
        if not isinstance(origin_doc, dict):
            raise ManifestFormatError(MANIFEST_NAME, "takeoff_origin", origin_doc, "an object or null")
        try:
            origin = LatLonAlt(float(origin_doc["lat_deg"]), float(origin_doc["lon_deg"]), float(origin_doc["alt_m"]))
        except (KeyError, TypeError, ValueError):
            raise ManifestFormatError(MANIFEST_NAME, "takeoff_origin", origin_doc, "{lat_deg, lon_deg, alt_m}") from None
    flight_id = doc.get("flight_id")
    if flight_id is not None and not isinstance(flight_id, str):
        raise ManifestFormatError(MANIFEST_NAME, "flight_id", flight_id, "a UUID string or null")
    files_doc = _get(doc, "files", dict, "an object of path -> {length, sha256}")
    files = []
    for path, entry in sorted(files_doc.items()):
        safe_relpath(path, f"files.{path}")
        if not isinstance(entry, dict):
            raise ManifestFormatError(MANIFEST_NAME, f"files.{path}", entry, "{length, sha256}")
        length = _get(entry, "length", int, "a non-negative integer", f"files.{path}.")
        if length < 0:
            raise ManifestFormatError(MANIFEST_NAME, f"files.{path}.length", length, "a non-negative integer")
        chunk_bytes = 0
        chunks: tuple[str, ...] = ()
        if "chunk_sha256" in entry:
            chunk_bytes = _get(entry, "chunk_bytes", int, "an integer >= 4096", f"files.{path}.")
            raw_chunks = _get(entry, "chunk_sha256", list, "a list of SHA-256 hex", f"files.{path}.")
            expected = -(-length // chunk_bytes) if chunk_bytes >= MIN_CHUNK_BYTES else -1
            if expected != len(raw_chunks):
                raise ManifestFormatError(MANIFEST_NAME, f"files.{path}.chunk_sha256", f"{len(raw_chunks)} chunks of {chunk_bytes} B",
                                          f"ceil(length / chunk_bytes) chunks of >= {MIN_CHUNK_BYTES} B")
            chunks = tuple(_hex64(c, f"files.{path}.chunk_sha256[{i}]") for i, c in enumerate(raw_chunks))
        files.append(FileEntry(path, length, _hex64(entry.get("sha256"), f"files.{path}.sha256"), chunk_bytes, chunks))
    tiles_doc = _get(doc, "tiles", dict, "an object")
    tile_count = _get(tiles_doc, "count", int, "a non-negative integer", "tiles.")
    calib = _get(doc, "calibration", dict, "an object")
    calib_path = safe_relpath(calib.get("path"), "calibration.path")
    engines = []
    for i, e in enumerate(_get(doc, "engines", list, "a list")):
        if not isinstance(e, dict):
            raise ManifestFormatError(MANIFEST_NAME, f"engines[{i}]", e, "an object")
        engines.append(EngineEntry(
            path=safe_relpath(e.get("path"), f"engines[{i}].path"),
            model=_get(e, "model", str, "a string", f"engines[{i}]."),
            model_sha256=_hex64(e.get("model_sha256"), f"engines[{i}].model_sha256"),
            backend=_get(e, "backend", str, "a string", f"engines[{i}]."),
            runtime_version=_get(e, "runtime_version", str, "a string", f"engines[{i}]."),
            gpu_arch=_get(e, "gpu_arch", str, "a string", f"engines[{i}]."),
            fp16=_get(e, "fp16", bool, "true or false", f"engines[{i}]."),
            sha256=_hex64(e.get("sha256"), f"engines[{i}].sha256"),
        ))
    descriptors = doc.get("descriptors")
    if descriptors is not None and not isinstance(descriptors, dict):
        raise ManifestFormatError(MANIFEST_NAME, "descriptors", descriptors, "an object or null")
    manifest = Manifest(
        cache_id=cache_id,
        version=version,
        created_unix_s=_iso(doc.get("created"), "created"),
        expires_unix_s=_iso(doc.get("expires"), "expires"),
        created=doc["created"],
        expires=doc["expires"],
        bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
        zoom=zoom,
        tile_size=tile_size,
        takeoff_origin=origin,
        flight_id=flight_id,
        build_identity=_hex64(doc.get("build_identity"), "build_identity"),
        files=tuple(files),
        tile_count=tile_count,
        merkle_root=_hex64(tiles_doc.get("merkle_root"), "tiles.merkle_root"),
        calibration_path=calib_path,
        calibration_sha256=_hex64(calib.get("sha256"), "calibration.sha256"),
        engines=tuple(engines),
        descriptors=descriptors,
        key_id=_hex64(doc.get("key_id"), "key_id"),
        raw=doc,
    )
    # Everything the reader opens must be a signed file: cross-references are checked here.
    listed = {f.path: f for f in manifest.files}
    for path, what in [(calib_path, "calibration.path")] + [(e.path, "engines[].path") for e in engines]:
        if path not in listed:
            raise ManifestFormatError(MANIFEST_NAME, what, path, "a path listed in files")
    if calib_path in listed and listed[calib_path].sha256 != manifest.calibration_sha256:
        raise ManifestFormatError(MANIFEST_NAME, "calibration.sha256", manifest.calibration_sha256, "the files entry's sha256")
    for e in engines:
        if listed[e.path].sha256 != e.sha256:
            raise ManifestFormatError(MANIFEST_NAME, f"engines[{e.path}].sha256", e.sha256, "the files entry's sha256")
    if descriptors is not None:
        for key in ("matrix", "index"):
            path = safe_relpath(descriptors.get(key), f"descriptors.{key}")
            if path not in listed:
                raise ManifestFormatError(MANIFEST_NAME, f"descriptors.{key}", path, "a path listed in files")
    return manifest
