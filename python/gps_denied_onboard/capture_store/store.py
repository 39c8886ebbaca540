"""The in-flight capture store: georeferenced captures kept for post-flight upload.

Layout of a store directory (format `gdn-captures/1`, docs/upload.md):

    <root>/store.json                 {"format", "flight_id", "created_at"}
    <root>/<capture_id>.png|jpg       the orthorectified image
    <root>/<capture_id>.json          its metadata; written last, so it marks the capture committed

Each file is written atomically (temp + fsync + rename), so after a power cut a
capture is either complete or absent; an image without metadata is a torn write
and is removed when the store is next opened for writing. The store is bounded by
`max_bytes` and `max_count`: to make room it evicts the oldest capture or the
one with the least trustworthy georeference (largest horizontal variance); under
the lowest-quality policy a new capture worse than everything it would displace
is dropped instead. Every write, eviction and drop is counted and recorded
through the injected `RecordSink` (the FDR client).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from gps_denied_onboard.capture_store.errors import (
    CaptureExistsError,
    CaptureStoreFormatError,
    CaptureTooLargeError,
    CaptureValueError,
    CaptureWriteError,
)
from gps_denied_onboard.capture_store.metadata import IMAGE_FORMATS, CaptureMetadata
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.helpers import AtomicWriteError, atomic_write_bytes
from gps_denied_onboard.logging import get_logger

STORE_FORMAT = "gdn-captures/1"
STORE_FILE = "store.json"
KIND_WRITTEN = "capture_store.written"
KIND_EVICTED = "capture_store.evicted"
KIND_DROPPED = "capture_store.dropped"
KIND_RECOVERED = "capture_store.recovered"

_log = get_logger("capture_store")


class RecordSink(Protocol):
    """The FDR client's `enqueue(kind, payload)` surface (never blocks)."""

    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> Any: ...


class EvictionPolicy(StrEnum):
    """What goes first when the store is full."""

    OLDEST = "oldest"
    LOWEST_QUALITY = "lowest_quality"


@dataclass(frozen=True)
class StoredCapture:
    """A committed capture on disk."""

    metadata: CaptureMetadata
    image_path: Path
    metadata_path: Path
    size_bytes: int

    @property
    def capture_id(self) -> str:
        return self.metadata.capture_id


@dataclass(frozen=True)
class PutResult:
    """What `put` did: `stored` False means the capture was dropped (`reason` says why)."""

    capture_id: str
    stored: bool
    evicted: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class CaptureStoreStats:
    count: int
    total_bytes: int
    written: int
    evicted: int
    evicted_bytes: int
    dropped: int
    recovered_orphans: int


class CaptureStore:
    """A bounded, crash-safe directory of captures for one flight. Thread-safe.

    `CaptureStore(root, flight_id=...)` creates the store or reopens it (the flight
    id must then match); `flight_id=None` opens an existing store. `read_only=True`
    never modifies the directory (the uploader's view).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        flight_id: str | None = None,
        max_bytes: int = 2 * 1024**3,
        max_count: int = 10_000,
        policy: EvictionPolicy = EvictionPolicy.OLDEST,
        sink: RecordSink | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        if max_bytes <= 0:
            raise CaptureValueError("max_bytes", max_bytes, "> 0")
        if max_count <= 0:
            raise CaptureValueError("max_count", max_count, "> 0")
        self._root = Path(root)
        self._max_bytes = max_bytes
        self._max_count = max_count
        self._policy = EvictionPolicy(policy)
        self._sink = sink
        self._clock = clock or WallClock()
        self._read_only = read_only
        self._lock = threading.Lock()
        self._captures: dict[str, StoredCapture] = {}
        self._written = self._evicted = self._evicted_bytes = self._dropped = self._recovered = 0
        self._flight_id = self._open_or_create(flight_id)
        self._scan()

    # ---- opening -------------------------------------------------------------------------

    def _open_or_create(self, flight_id: str | None) -> str:
        store_file = self._root / STORE_FILE
        if store_file.exists():
            try:
                header = json.loads(store_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CaptureStoreFormatError(str(store_file), f"unreadable store header: {exc}") from exc
            if not isinstance(header, dict) or header.get("format") != STORE_FORMAT:
                raise CaptureStoreFormatError(str(store_file), f"format is not {STORE_FORMAT!r}")
            stored_id = header.get("flight_id")
            if not isinstance(stored_id, str) or not stored_id:
                raise CaptureStoreFormatError(str(store_file), "missing flight_id")
            if flight_id is not None and flight_id != stored_id:
                raise CaptureValueError("flight_id", flight_id, f"{stored_id!r}, the flight this store belongs to")
            return stored_id
        if flight_id is None or self._read_only:
            raise CaptureStoreFormatError(str(store_file), "no capture store here (store.json missing)")
        if not flight_id.strip() or "/" in flight_id:
            raise CaptureValueError("flight_id", flight_id, "a non-empty id without '/'")
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            header = {"format": STORE_FORMAT, "flight_id": flight_id, "created_at": self._clock.wall_iso()}
            atomic_write_bytes(store_file, json.dumps(header, sort_keys=True).encode())
        except OSError as exc:
            raise CaptureWriteError(f"cannot create capture store at {self._root}: {exc}") from exc
        return flight_id

    def _scan(self) -> None:
        images: dict[str, Path] = {}
        metas: dict[str, Path] = {}
        for entry in self._root.iterdir():
            name = entry.name
            if name == STORE_FILE or name.endswith(".sha256"):
                continue
            if name.startswith("."):  # an interrupted atomic write's temp file
                self._remove_orphan(entry)
                continue
            stem, _, ext = name.rpartition(".")
            if ext == "json":
                metas[stem] = entry
            elif ext in IMAGE_FORMATS:
                images[stem] = entry
        for capture_id, meta_path in metas.items():
            try:
                metadata = CaptureMetadata.from_json_dict(json.loads(meta_path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                raise CaptureStoreFormatError(str(meta_path), f"bad capture metadata: {exc}") from exc
            image = images.pop(capture_id, None)
            if metadata.capture_id != capture_id or image is None or image.suffix[1:] != metadata.image_format:
                self._remove_orphan(meta_path)
                if image is not None:
                    self._remove_orphan(image)
                continue
            size = image.stat().st_size + meta_path.stat().st_size
            self._captures[capture_id] = StoredCapture(metadata, image, meta_path, size)
        for image in images.values():  # image written, metadata never committed
            self._remove_orphan(image)
        if self._recovered:
            _log.warning("removed torn capture files", kind=KIND_RECOVERED, count=self._recovered)
            self._record(KIND_RECOVERED, {"orphans_removed": self._recovered})

    def _remove_orphan(self, path: Path) -> None:
        if self._read_only:
            return
        try:
            path.unlink()
            self._recovered += 1
        except FileNotFoundError:
            pass

    # ---- queries -------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self._root

    @property
    def flight_id(self) -> str:
        return self._flight_id

    def captures(self) -> list[StoredCapture]:
        """Committed captures, oldest frame first."""
        with self._lock:
            return sorted(self._captures.values(), key=lambda c: c.metadata.frame_time_ns)

    def read_image(self, capture_id: str) -> bytes:
        with self._lock:
            capture = self._captures.get(capture_id)
        if capture is None:
            raise CaptureValueError("capture_id", capture_id, "the id of a stored capture")
        return capture.image_path.read_bytes()

    def stats(self) -> CaptureStoreStats:
        with self._lock:
            return CaptureStoreStats(
                count=len(self._captures),
                total_bytes=sum(c.size_bytes for c in self._captures.values()),
                written=self._written,
                evicted=self._evicted,
                evicted_bytes=self._evicted_bytes,
                dropped=self._dropped,
                recovered_orphans=self._recovered,
            )

    # ---- writing -------------------------------------------------------------------------

    def put(self, metadata: CaptureMetadata, image: bytes) -> PutResult:
        """Store one capture, evicting per the policy to stay within bounds."""
        if self._read_only:
            raise CaptureValueError("read_only", True, "a store opened for writing")
        magic = IMAGE_FORMATS[metadata.image_format]
        if not image.startswith(magic):
            raise CaptureValueError("image", bytes(image[:8]), f"{metadata.image_format} data starting with {magic!r}")
        meta_bytes = json.dumps(metadata.to_json_dict(), sort_keys=True, separators=(",", ":")).encode()
        size = len(image) + len(meta_bytes)
        if size > self._max_bytes:
            raise CaptureTooLargeError(size, self._max_bytes)
        capture_id = metadata.capture_id
        with self._lock:
            if capture_id in self._captures:
                raise CaptureExistsError(capture_id)
            victims = self._choose_victims(metadata, size)
            if victims is None:
                self._dropped += 1
                reason = "georeference less trustworthy than every capture it would displace"
                self._record(KIND_DROPPED, {"capture_id": capture_id, "bytes": size, "reason": reason,
                                            "horizontal_variance_m2": metadata.horizontal_variance_m2})
                return PutResult(capture_id, stored=False, reason=reason)
            for victim in victims:
                self._evict(victim)
            image_path = self._root / f"{capture_id}.{metadata.image_format}"
            meta_path = self._root / f"{capture_id}.json"
            try:
                atomic_write_bytes(image_path, image)
                atomic_write_bytes(meta_path, meta_bytes)
            except AtomicWriteError as exc:
                for path in (meta_path, image_path):
                    try:
                        path.unlink()
                    except FileNotFoundError:
                        pass
                raise CaptureWriteError(f"writing capture {capture_id} to {self._root} failed: {exc}") from exc
            self._captures[capture_id] = StoredCapture(metadata, image_path, meta_path, size)
            self._written += 1
            total = sum(c.size_bytes for c in self._captures.values())
            count = len(self._captures)
        self._record(KIND_WRITTEN, {
            "capture_id": capture_id, "frame_time_ns": metadata.frame_time_ns, "bytes": size,
            "lat_deg": metadata.lat_deg, "lon_deg": metadata.lon_deg, "gsd_m": metadata.gsd_m,
            "horizontal_variance_m2": metadata.horizontal_variance_m2,
            "store_count": count, "store_bytes": total, "evicted": [v.capture_id for v in victims],
        })
        return PutResult(capture_id, stored=True, evicted=tuple(v.capture_id for v in victims))

    def _choose_victims(self, new: CaptureMetadata, size: int) -> list[StoredCapture] | None:
        """Captures to evict so `new` fits, or None when `new` itself should be dropped."""
        if self._policy is EvictionPolicy.OLDEST:
            order = sorted(self._captures.values(), key=lambda c: c.metadata.frame_time_ns)
        else:  # worst georeference first, oldest first among equals
            order = sorted(self._captures.values(),
                           key=lambda c: (-c.metadata.horizontal_variance_m2, c.metadata.frame_time_ns))
        total = sum(c.size_bytes for c in self._captures.values())
        count = len(self._captures)
        victims: list[StoredCapture] = []
        for candidate in order:
            if total + size <= self._max_bytes and count + 1 <= self._max_count:
                break
            if (self._policy is EvictionPolicy.LOWEST_QUALITY
                    and new.horizontal_variance_m2 >= candidate.metadata.horizontal_variance_m2):
                return None
            victims.append(candidate)
            total -= candidate.size_bytes
            count -= 1
        return victims

    def _evict(self, victim: StoredCapture) -> None:
        # Metadata first: once it is gone the capture is uncommitted even if the image unlink fails.
        for path in (victim.metadata_path, victim.image_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        del self._captures[victim.capture_id]
        self._evicted += 1
        self._evicted_bytes += victim.size_bytes
        self._record(KIND_EVICTED, {
            "capture_id": victim.capture_id, "bytes": victim.size_bytes, "policy": self._policy.value,
            "horizontal_variance_m2": victim.metadata.horizontal_variance_m2,
            "evicted_total": self._evicted,
        })

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        if self._sink is not None:
            payload["flight_id"] = self._flight_id
            self._sink.enqueue(kind, payload)
