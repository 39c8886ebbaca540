"""Reading FDR flights: frames, damage reports, records (format: docs/fdr-format.md).

The reader never raises on damaged data: it returns every frame whose CRC
checks and reports each damaged span as a `Damage` (file, offset, length,
records lost, reason). Lost record counts are exact wherever the format allows
(a span between two good frames: from `rec_no`; a torn segment tail: from the
next segment's `flight_records_before`); only the tail of the last segment of
a flight that never closed is reported as "unknown".
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gps_denied_onboard.components.c13_fdr import framing
from gps_denied_onboard.components.c13_fdr.errors import FdrFormatError
from gps_denied_onboard.components.c13_fdr.interface import FlightFooter, FlightHeader
from gps_denied_onboard.components.c13_fdr.segments import segment_index
from gps_denied_onboard.fdr_client.record import FdrRecord

_HDR = framing.HEADER
_TYPES = framing.FRAME_TYPES


@dataclass(frozen=True)
class Frame:
    """One frame whose CRC checked."""

    type: bytes
    offset: int
    rec_no: int
    body: bytes

    @property
    def end(self) -> int:
        return self.offset + framing.HEADER_SIZE + len(self.body)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Damage:
    """A damaged span of one segment.

    `records_lost` is exact when not None; `torn_tail` marks a span that runs to
    the end of the file (an interrupted write or a truncation).
    """

    segment: str
    offset: int
    length: int
    records_lost: int | None
    reason: str
    torn_tail: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "offset": self.offset, "length": self.length,
                "records_lost": self.records_lost, "reason": self.reason, "torn_tail": self.torn_tail}


def _check(data: bytes, pos: int, n: int) -> tuple[Frame | None, str]:
    if n - pos < framing.HEADER_SIZE:
        return None, f"incomplete frame header ({n - pos} of {framing.HEADER_SIZE} bytes)"
    magic, ftype, version, length, rec_no, crc = _HDR.unpack_from(data, pos)
    if magic != framing.MAGIC:
        return None, "bad frame magic"
    if ftype not in _TYPES or version[0] != framing.FRAME_VERSION:
        return None, f"bad frame type/version {ftype!r}/{version[0]}"
    if length > framing.MAX_BODY:
        return None, f"implausible frame length {length}"
    end = pos + framing.HEADER_SIZE + length
    if end > n:
        return None, f"truncated frame (needs {end - pos} bytes, {n - pos} present)"
    body = data[pos + framing.HEADER_SIZE : end]
    if zlib.crc32(body, zlib.crc32(data[pos : pos + 12])) != crc:
        return None, "CRC mismatch"
    return Frame(ftype, pos, rec_no, body), ""


def scan_segment(data: bytes, name: str = "<segment>") -> Iterator[Frame | Damage]:
    """Frames of a segment's bytes, with a `Damage` for every span that does not check.

    Tail damage is yielded with `records_lost=None`; `read_segment` and the
    flight reader fill it in where the next segment makes it knowable.
    """
    n = len(data)
    pos = 0
    expect = 0  # rec_no the next good frame should carry
    bad_start = -1
    bad_reason = ""
    while pos < n:
        frame, reason = _check(data, pos, n)
        if frame is None:
            if bad_start < 0:
                bad_start, bad_reason = pos, reason
            nxt = data.find(framing.MAGIC, pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        if bad_start >= 0:
            yield Damage(name, bad_start, pos - bad_start, max(0, frame.rec_no - expect), bad_reason)
            bad_start = -1
        elif frame.rec_no != expect:
            yield Damage(name, pos, 0, max(0, frame.rec_no - expect), f"record numbers jump {expect} -> {frame.rec_no}")
        yield frame
        expect = frame.rec_no + (1 if frame.type == framing.T_RECORD else 0)
        pos = frame.end
    if bad_start >= 0:
        yield Damage(name, bad_start, n - bad_start, None, bad_reason, torn_tail=True)


def record_from_body(body: bytes) -> FdrRecord:
    """The FdrRecord of a record frame body (raises ValueError/KeyError on a malformed body)."""
    env = json.loads(body)
    return FdrRecord(str(env["v"]), int(env["ts"]), str(env["p"]), str(env["k"]), env["d"], int(env.get("s", -1)),
                     tuple(env.get("f", ())))


@dataclass
class SegmentReport:
    """What one segment held."""

    path: str
    index: int
    size: int
    records: int = 0
    frames: int = 0
    start: dict[str, Any] | None = None
    end: dict[str, Any] | None = None  # segment-end frame body
    has_footer: bool = False
    damages: list[Damage] = field(default_factory=list)


@dataclass
class FlightReport:
    """What a flight directory held and what of it was lost."""

    flight_dir: str
    header: FlightHeader | None = None
    footer: FlightFooter | None = None
    segments: list[SegmentReport] = field(default_factory=list)
    records_read: int = 0
    missing_segments: list[int] = field(default_factory=list)  # indices absent (capacity cap or lost)
    rolled_over_segments: list[str] = field(default_factory=list)  # deleted by the capacity cap, per records
    # The capacity cap deletes oldest-first, so every index <= this one was deleted on purpose.
    rolled_over_through: int = -1

    @property
    def damages(self) -> list[Damage]:
        return [d for s in self.segments for d in s.damages]

    @property
    def bytes_lost(self) -> int:
        return sum(d.length for d in self.damages)

    @property
    def records_lost(self) -> int:
        """Records known to be lost in damaged spans (exact; unknown tails count 0)."""
        return sum(d.records_lost or 0 for d in self.damages)

    @property
    def loss_unknown(self) -> bool:
        """True when a torn tail's record count cannot be known (crashed flight, last segment)."""
        return any(d.records_lost is None for d in self.damages)

    @property
    def unexplained_missing(self) -> list[int]:
        rolled = {segment_index(name) for name in self.rolled_over_segments}
        return [i for i in self.missing_segments if i not in rolled and i > self.rolled_over_through]

    @property
    def clean(self) -> bool:
        """Closed cleanly by its writer and nothing lost or missing."""
        return (self.footer is not None and self.footer.clean_shutdown and not self.damages
                and not self.unexplained_missing)


def list_segments(flight_dir: str) -> list[tuple[int, str]]:
    """(index, path) of the segment files of a flight, in order."""
    try:
        names = os.listdir(flight_dir)
    except OSError as exc:
        raise FdrFormatError(flight_dir, 0, f"cannot list flight directory: {exc.strerror}") from exc
    out = []
    for name in names:
        idx = segment_index(name)
        if idx is not None:
            out.append((idx, os.path.join(flight_dir, name)))
    return sorted(out)


class FlightReader:
    """Streams the records of one flight directory and builds its `FlightReport`.

        reader = FlightReader(flight_dir)
        for rec in reader.records(kinds={"log"}):
            ...
        reader.report.records_lost
    """

    def __init__(self, flight_dir: str | os.PathLike[str]) -> None:
        self.flight_dir = os.fspath(flight_dir)
        if not os.path.isdir(self.flight_dir):
            raise FdrFormatError(self.flight_dir, 0, "not a flight directory")
        self.report = FlightReport(self.flight_dir)

    def frames(self) -> Iterator[tuple[SegmentReport, Frame]]:
        """Every good frame of every segment, in order; fills `report` as it goes."""
        self.report = report = FlightReport(self.flight_dir)
        segs = list_segments(self.flight_dir)
        if segs:
            present = {i for i, _ in segs}
            report.missing_segments = [i for i in range(segs[0][0], segs[-1][0]) if i not in present]
            if segs[0][0] != 0:
                report.missing_segments = list(range(0, segs[0][0])) + report.missing_segments
        prev: SegmentReport | None = None
        for idx, path in segs:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise FdrFormatError(path, 0, f"cannot read segment: {exc.strerror}") from exc
            seg = SegmentReport(path, idx, len(data))
            report.segments.append(seg)
            name = os.path.basename(path)
            for item in scan_segment(data, name):
                if isinstance(item, Damage):
                    seg.damages.append(item)
                    continue
                seg.frames += 1
                if item.type == framing.T_RECORD:
                    seg.records += 1
                    yield seg, item
                    continue
                try:
                    body = item.json()
                except ValueError:
                    seg.damages.append(Damage(name, item.offset, item.end - item.offset, 0, "undecodable frame body"))
                    continue
                if item.type == framing.T_SEGMENT:
                    seg.start = body
                    if prev is not None:
                        self._settle_tail(prev, body)
                elif item.type == framing.T_HEADER and report.header is None:
                    try:
                        report.header = FlightHeader.from_json(body)
                    except (KeyError, TypeError, ValueError):
                        seg.damages.append(Damage(name, item.offset, 0, 0, "flight header lacks fields"))
                elif item.type == framing.T_SEGMENT_END:
                    seg.end = body
                elif item.type == framing.T_FOOTER:
                    seg.has_footer = True
                    try:
                        report.footer = FlightFooter.from_json(body)
                    except (KeyError, TypeError, ValueError):
                        seg.damages.append(Damage(name, item.offset, 0, 0, "flight footer lacks fields"))
                yield seg, item
            prev = seg
        if prev is not None and report.footer is not None:
            self._settle_last_tail(prev, report.footer)

    @staticmethod
    def _settle_tail(seg: SegmentReport, next_start: dict[str, Any]) -> None:
        """A torn tail followed by another segment: its loss is knowable from the next start frame."""
        if not seg.damages or not seg.damages[-1].torn_tail or seg.start is None:
            return
        try:
            expected = int(next_start["flight_records_before"]) - int(seg.start["flight_records_before"])
        except (KeyError, TypeError, ValueError):
            return
        lost_elsewhere = sum(d.records_lost or 0 for d in seg.damages[:-1])
        tail = seg.damages[-1]
        seg.damages[-1] = Damage(tail.segment, tail.offset, tail.length,
                                 max(0, expected - seg.records - lost_elsewhere), tail.reason, True)

    @staticmethod
    def _settle_last_tail(seg: SegmentReport, footer: FlightFooter) -> None:
        if not seg.damages or not seg.damages[-1].torn_tail or seg.start is None:
            return
        try:
            expected = footer.records_written - int(seg.start["flight_records_before"])
        except (KeyError, TypeError, ValueError):
            return
        lost_elsewhere = sum(d.records_lost or 0 for d in seg.damages[:-1])
        tail = seg.damages[-1]
        seg.damages[-1] = Damage(tail.segment, tail.offset, tail.length,
                                 max(0, expected - seg.records - lost_elsewhere), tail.reason, True)

    def records(
        self,
        kinds: Iterable[str] | None = None,
        producers: Iterable[str] | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> Iterator[FdrRecord]:
        """Records of the flight, in file order, optionally filtered (inclusive time bounds)."""
        kind_set = set(kinds) if kinds is not None else None
        prod_set = set(producers) if producers is not None else None
        for seg, frame in self.frames():
            if frame.type != framing.T_RECORD:
                continue
            try:
                rec = record_from_body(frame.body)
            except (ValueError, KeyError, TypeError):
                seg.damages.append(Damage(os.path.basename(seg.path), frame.offset, frame.end - frame.offset, 1,
                                          "undecodable record body"))
                continue
            self.report.records_read += 1
            if rec.kind == "segment_rollover" and isinstance(rec.payload, dict):
                self.report.rolled_over_segments.extend(str(s) for s in rec.payload.get("deleted_segments", ()))
                through = rec.payload.get("deleted_through_segment")
                if isinstance(through, int):
                    self.report.rolled_over_through = max(self.report.rolled_over_through, through)
            if kind_set is not None and rec.kind not in kind_set:
                continue
            if prod_set is not None and rec.producer_id not in prod_set:
                continue
            if since_ns is not None and rec.ts < since_ns:
                continue
            if until_ns is not None and rec.ts > until_ns:
                continue
            yield rec

    def scan(self) -> FlightReport:
        """Read the whole flight without keeping records; returns the report."""
        for _ in self.records():
            pass
        return self.report


def read_flight_records(flight_dir: str | os.PathLike[str], **filters: Any) -> list[FdrRecord]:
    """Every readable record of a flight (filters as in `FlightReader.records`)."""
    return list(FlightReader(flight_dir).records(**filters))


def scan_flight(flight_dir: str | os.PathLike[str]) -> FlightReport:
    """The `FlightReport` of a flight directory."""
    return FlightReader(flight_dir).scan()


def list_flights(flight_root: str | os.PathLike[str]) -> list[str]:
    """Flight directories under a flight root (those holding segment files), sorted."""
    root = os.fspath(flight_root)
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        raise FdrFormatError(root, 0, f"cannot list flight root: {exc.strerror}") from exc
    out = []
    for name in names:
        path = os.path.join(root, name)
        if os.path.isdir(path) and any(segment_index(n) is not None for n in os.listdir(path)):
            out.append(path)
    return out
