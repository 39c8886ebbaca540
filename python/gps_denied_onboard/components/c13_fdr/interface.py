"""Public types of c13_fdr: flight header/footer, the rotation hook, the I/O seam."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from gps_denied_onboard.clock import Clock, WallClock


@dataclass(frozen=True)
class FlightHeader:
    """Written at the start of every segment of a flight (a deleted first segment loses nothing)."""

    flight_id: str
    flight_started_at_iso: str
    flight_started_at_monotonic_ns: int
    config_snapshot: str = "{}"
    signing_key_rotation_event: Mapping[str, Any] | None = None
    manifest_content_hashes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def now(cls, flight_id: str, clock: Clock | None = None, **fields: Any) -> FlightHeader:
        """A header stamped with `clock` (wall ISO + monotonic ns) now."""
        clk = clock or WallClock()
        return cls(flight_id, clk.wall_iso(), clk.monotonic_ns(), **fields)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["manifest_content_hashes"] = dict(self.manifest_content_hashes)
        if self.signing_key_rotation_event is not None:
            out["signing_key_rotation_event"] = dict(self.signing_key_rotation_event)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlightHeader:
        return cls(
            flight_id=str(data["flight_id"]),
            flight_started_at_iso=str(data["flight_started_at_iso"]),
            flight_started_at_monotonic_ns=int(data["flight_started_at_monotonic_ns"]),
            config_snapshot=str(data.get("config_snapshot", "{}")),
            signing_key_rotation_event=data.get("signing_key_rotation_event"),
            manifest_content_hashes=dict(data.get("manifest_content_hashes") or {}),
        )


@dataclass(frozen=True)
class FlightFooter:
    """Written as the last frame of a flight by `close_flight`.

    `bytes_written` counts every byte the writer wrote for the flight, deleted
    segments and this footer's own frame included.
    """

    flight_id: str
    flight_ended_at_iso: str
    flight_ended_at_monotonic_ns: int
    records_written: int
    records_dropped_overrun: int
    bytes_written: int
    rollover_count: int
    clean_shutdown: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlightFooter:
        return cls(
            flight_id=str(data["flight_id"]),
            flight_ended_at_iso=str(data["flight_ended_at_iso"]),
            flight_ended_at_monotonic_ns=int(data["flight_ended_at_monotonic_ns"]),
            records_written=int(data["records_written"]),
            records_dropped_overrun=int(data["records_dropped_overrun"]),
            bytes_written=int(data["bytes_written"]),
            rollover_count=int(data["rollover_count"]),
            clean_shutdown=bool(data["clean_shutdown"]),
        )


EmitRecord = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True)
class RotationEvent:
    """Passed to the writer's `on_rotation` hook (on the writer thread) after a segment closed.

    `closed_segments` lists the flight's closed segments, oldest first, with sizes;
    `open_segment_bytes` is the size of the new segment so far. `emit(kind, payload)`
    writes a record (producer "fdr") into the new segment right away.
    """

    flight_dir: str
    closed_segment: str
    new_segment: str
    closed_segments: tuple[tuple[str, int], ...]
    open_segment_bytes: int
    segment_bytes: int
    emit: EmitRecord


RotationHook = Callable[[RotationEvent], int]
"""Returns how many segments it deleted (counted as rollovers in the footer)."""


class SegmentIO(Protocol):
    """The writer's file-system seam (tests inject ENOSPC/EIO/EROFS through it)."""

    def open_append(self, path: str) -> int: ...
    def write(self, fd: int, data: bytes) -> int: ...
    def fsync(self, fd: int) -> None: ...
    def close(self, fd: int) -> None: ...
    def unlink(self, path: str) -> None: ...
    def fsync_dir(self, path: str) -> None: ...


class OsSegmentIO:
    """The real file system: O_WRONLY|O_CREAT|O_APPEND, never seeked."""

    def open_append(self, path: str) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o644)

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


GcsAlert = Callable[[str], None]
"""Sends one line to the ground station (wired to C2's STATUSTEXT by the composition root)."""
