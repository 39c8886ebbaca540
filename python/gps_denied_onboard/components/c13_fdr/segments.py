"""`FlightSegments`: the synchronous, single-threaded part of the writer.

Frames records into `flight_dir/segment-NNNN.fdr` files: every segment starts
with a segment-start frame and a copy of the flight header, carries sync frames
every `resync_interval_bytes`, and ends with a segment-end frame (or the flight
footer). A record that would overshoot `segment_bytes` goes to the next segment.
Files are opened O_APPEND through the `SegmentIO` seam and never seeked.
Used by `FileFdrWriter` (on its thread) and by `fdr recover`.
"""

from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Mapping
from typing import Any

from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c13_fdr import framing
from gps_denied_onboard.components.c13_fdr.interface import (
    FlightFooter,
    FlightHeader,
    OsSegmentIO,
    RotationEvent,
    RotationHook,
    SegmentIO,
)
from gps_denied_onboard.fdr_client.record import FDR_PRODUCER_ID, FDR_RECORD_SCHEMA_VERSION
from gps_denied_onboard.logging import get_logger

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".fdr"
_END_RESERVE = 512  # room always kept for the segment-end / footer frame


def segment_name(index: int) -> str:
    return f"{SEGMENT_PREFIX}{index:04d}{SEGMENT_SUFFIX}"


def segment_index(name: str) -> int | None:
    """The index of a segment file name, or None if it is not one."""
    if not (name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX)):
        return None
    digits = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
    return int(digits) if digits.isdigit() else None


def record_body(producer_id: str, seq: int, ts: int, kind: str, payload: Any, flags: tuple[str, ...] = ()) -> bytes:
    """The JSON body of a record frame (see docs/fdr-format.md)."""
    env: dict[str, Any] = {"v": FDR_RECORD_SCHEMA_VERSION, "ts": ts, "p": producer_id, "k": kind, "s": seq,
                           "d": payload}
    if flags:
        env["f"] = list(flags)
    return framing.dumps_body(env)


class FlightSegments:
    """Segments of one open flight. Not thread-safe: one thread drives it."""

    def __init__(
        self,
        flight_dir: str,
        header: FlightHeader,
        *,
        segment_bytes: int,
        resync_interval_bytes: int,
        io: SegmentIO | None = None,
        clock: Clock | None = None,
        on_rotation: RotationHook | None = None,
        first_segment: int = 0,
    ) -> None:
        self.flight_dir = flight_dir
        self.header = header
        self.segment_bytes = segment_bytes
        self.resync_interval_bytes = resync_interval_bytes
        self.io: SegmentIO = io or OsSegmentIO()
        self.clock = clock or WallClock()
        self.on_rotation = on_rotation
        self._header_json = header.to_json()
        self.segment_index = first_segment
        self.fd: int | None = None
        self.closed_segments: list[str] = []
        # flight totals (what reached the file system)
        self.records_written = 0
        self.bytes_written = 0
        self.rollover_count = 0
        self.rotation_hook_errors = 0
        # current segment
        self._seg_bytes = 0  # written + buffered
        self._seg_records = 0  # record frames framed in this segment
        self._since_sync = 0
        self._buf: list[bytes] = []
        self._buf_bytes = 0
        self._buf_records = 0

    # ---- paths --------------------------------------------------------------------------
    def segment_path(self, index: int | None = None) -> str:
        return os.path.join(self.flight_dir, segment_name(self.segment_index if index is None else index))

    # ---- framing ------------------------------------------------------------------------
    def _frame(self, frame_type: bytes, body: bytes) -> None:
        frame = framing.encode_frame(frame_type, body, self._seg_records)
        self._buf.append(frame)
        self._buf_bytes += len(frame)
        self._seg_bytes += len(frame)
        self._since_sync += len(frame)
        if frame_type == framing.T_RECORD:
            self._seg_records += 1
            self._buf_records += 1

    def _start_frames(self) -> None:
        start = {
            "format": framing.SEGMENT_FORMAT,
            "flight_id": self.header.flight_id,
            "segment": self.segment_index,
            "flight_records_before": self.records_written + self._buf_records,
            "flight_bytes_before": self.bytes_written + self._buf_bytes,
            "created_monotonic_ns": self.clock.monotonic_ns(),
        }
        self._frame(framing.T_SEGMENT, framing.dumps_body(start))
        self._frame(framing.T_HEADER, framing.dumps_body(self._header_json))
        self._since_sync = 0

    def open(self) -> None:
        """Create the first segment and write its start frames (raises OSError)."""
        self.fd = self.io.open_append(self.segment_path())
        self.open_frames_on_fd()

    def open_frames_on_fd(self) -> None:
        """Write the start frames of the first segment on the already opened `fd`."""
        assert self.fd is not None
        self._seg_bytes = 0
        self._seg_records = 0
        self._start_frames()
        self.flush()
        self.io.fsync(self.fd)
        self.io.fsync_dir(self.flight_dir)

    def add_record(self, body: bytes) -> None:
        """Frame one record body; rotates first if it would overshoot the segment."""
        need = framing.HEADER_SIZE + len(body)
        if self._seg_records and self._seg_bytes + need + _END_RESERVE > self.segment_bytes:
            self.rotate()
        elif self._since_sync >= self.resync_interval_bytes:
            self._sync()
        frame = framing.encode_frame(framing.T_RECORD, body, self._seg_records)
        self._buf.append(frame)
        n = len(frame)
        self._buf_bytes += n
        self._seg_bytes += n
        self._since_sync += n
        self._seg_records += 1
        self._buf_records += 1

    def add_records(self, bodies: list[bytes]) -> None:
        """`add_record` for a batch: the writer's hot loop, kept free of per-record
        method calls and attribute writes (counters live in locals until the end)."""
        pack = framing.PREFIX.pack
        crc32 = zlib.crc32
        append = self._buf.append
        magic, rtype, vbyte = framing.MAGIC, framing.T_RECORD, framing.VERSION_BYTE
        limit = self.segment_bytes - _END_RESERVE - framing.HEADER_SIZE
        interval = self.resync_interval_bytes
        seg_bytes, since_sync, seg_records = self._seg_bytes, self._since_sync, self._seg_records
        added_bytes = added_records = 0
        for body in bodies:
            n = len(body)
            if (seg_records and seg_bytes + n > limit) or since_sync >= interval:
                # rare: rotation or a sync frame first; hand the counters back for it
                self._seg_bytes, self._since_sync, self._seg_records = seg_bytes, since_sync, seg_records
                self._buf_bytes += added_bytes
                self._buf_records += added_records
                added_bytes = added_records = 0
                self.add_record(body)
                seg_bytes, since_sync, seg_records = self._seg_bytes, self._since_sync, self._seg_records
                append = self._buf.append
                continue
            prefix = pack(magic, rtype, vbyte, n, seg_records)
            append(prefix)
            append(crc32(body, crc32(prefix)).to_bytes(4, "little"))
            append(body)
            n += 16
            seg_bytes += n
            since_sync += n
            added_bytes += n
            seg_records += 1
            added_records += 1
        self._seg_bytes, self._since_sync, self._seg_records = seg_bytes, since_sync, seg_records
        self._buf_bytes += added_bytes
        self._buf_records += added_records

    def emit(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Write a recorder-own record (producer "fdr") right away."""
        self.add_record(record_body(FDR_PRODUCER_ID, -1, self.clock.monotonic_ns(), kind, dict(payload)))

    def _sync(self) -> None:
        body = {"sync": "GDN-FDR-SYNC", "flight_records": self.records_written + self._buf_records,
                "ts": self.clock.monotonic_ns()}
        self._frame(framing.T_SYNC, framing.dumps_body(body))
        self._since_sync = 0

    @property
    def buffered_records(self) -> int:
        return self._buf_records

    # ---- I/O ----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is buffered (raises OSError; the buffer is then discarded by `discard_buffer`)."""
        if not self._buf or self.fd is None:
            return
        data = b"".join(self._buf) if len(self._buf) > 1 else self._buf[0]
        view = memoryview(data)
        while view:
            n = self.io.write(self.fd, view)  # type: ignore[arg-type]
            if n <= 0:
                raise OSError(5, "write returned no progress")
            view = view[n:]
            self.bytes_written += n
        self.records_written += self._buf_records
        self._buf.clear()
        self._buf_bytes = 0
        self._buf_records = 0

    def discard_buffer(self) -> int:
        """Drop the unwritten buffer after a failed write; returns how many records it held."""
        dropped = self._buf_records
        self._seg_bytes -= self._buf_bytes
        self._buf.clear()
        self._buf_bytes = 0
        self._buf_records = 0
        return dropped

    def fsync(self) -> None:
        if self.fd is not None:
            self.io.fsync(self.fd)

    def _close_current(self, end_type: bytes, body: bytes) -> None:
        if self.fd is None:
            raise OSError(errno.EBADF, "no open segment (an earlier open failed)")
        self._frame(end_type, body)
        self.flush()
        fd, self.fd = self.fd, None
        try:
            self.io.fsync(fd)
        finally:
            self.io.close(fd)

    def rotate(self) -> None:
        """Close the current segment (segment-end frame, fsync) and open the next."""
        closed = self.segment_path()
        end = {"segment": self.segment_index, "records": self._seg_records, "next_segment": self.segment_index + 1}
        self._close_current(framing.T_SEGMENT_END, framing.dumps_body(end))
        self.closed_segments.append(closed)
        self.segment_index += 1
        self.fd = self.io.open_append(self.segment_path())
        self._seg_bytes = 0
        self._seg_records = 0
        self._start_frames()
        self.flush()
        self.io.fsync_dir(self.flight_dir)
        if self.on_rotation is not None:
            self.closed_segments = [p for p in self.closed_segments if os.path.exists(p)]
            event = RotationEvent(
                flight_dir=self.flight_dir,
                closed_segment=closed,
                new_segment=self.segment_path(),
                closed_segments=tuple((p, os.path.getsize(p)) for p in self.closed_segments),
                open_segment_bytes=self._seg_bytes,
                segment_bytes=self.segment_bytes,
                emit=self.emit,
            )
            try:
                deleted = int(self.on_rotation(event) or 0)
            except Exception as exc:  # noqa: BLE001 - a broken hook must not stop recording
                deleted = 0
                self.rotation_hook_errors += 1
                get_logger("c13_fdr").error("on_rotation hook failed", kind="fdr_rotation_hook_failed",
                                            error=repr(exc), segment=closed)
            self.rollover_count += deleted
            if deleted:
                self.closed_segments = [p for p in self.closed_segments if os.path.exists(p)]

    def reopen_after_failure(self) -> None:
        """Abandon the current (possibly torn) segment and start the next one.

        If the failure left no file at the current index (the open itself failed),
        that index is reused, so segment numbers stay contiguous.
        """
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                self.io.close(fd)
            except OSError:
                pass
        self.discard_buffer()
        if os.path.exists(self.segment_path()):
            if self.segment_path() not in self.closed_segments:
                self.closed_segments.append(self.segment_path())
            self.segment_index += 1
        path = self.segment_path()
        fd = self.io.open_append(path)
        self.fd = fd
        self._seg_bytes = 0
        self._seg_records = 0
        try:
            self._start_frames()
            self.flush()
        except OSError:
            self.discard_buffer()
            self.fd = None
            try:
                self.io.close(fd)
            finally:
                try:
                    self.io.unlink(path)
                except OSError:
                    pass
            raise

    def close(self, records_dropped_overrun: int, clean_shutdown: bool) -> FlightFooter:
        """Write the footer as the last frame, fsync and close. Raises OSError on failure."""
        ended_iso = self.clock.wall_iso()
        ended_ns = self.clock.monotonic_ns()
        self.flush()
        records = self.records_written
        guess = self.bytes_written
        for _ in range(8):  # bytes_written includes the footer frame itself: find the fixed point
            footer = FlightFooter(self.header.flight_id, ended_iso, ended_ns, records, records_dropped_overrun,
                                  guess, self.rollover_count, clean_shutdown)
            size = framing.HEADER_SIZE + len(framing.dumps_body(footer.to_json()))
            if self.bytes_written + size == guess:
                break
            guess = self.bytes_written + size
        self._close_current(framing.T_FOOTER, framing.dumps_body(footer.to_json()))
        self.io.fsync_dir(self.flight_dir)
        return footer
