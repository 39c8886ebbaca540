"""The reader against damage: truncation at every byte, >= 1000 byte flips, arbitrary bytes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fdr_helpers import header
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c13_fdr import Damage, framing, scan_flight, scan_segment
from gps_denied_onboard.components.c13_fdr.reader import Frame, record_from_body
from gps_denied_onboard.components.c13_fdr.segments import FlightSegments, record_body


def _build_flight(flight_dir: Path, n_records: int = 40, segment_bytes: int = 1 << 20) -> FlightSegments:
    flight_dir.mkdir(parents=True, exist_ok=True)
    seg = FlightSegments(str(flight_dir), header(flight_dir.name), segment_bytes=segment_bytes,
                         resync_interval_bytes=400, clock=FakeClock())
    seg.open()
    for i in range(n_records):
        seg.add_record(record_body("p", i, 1000 + i, "x", {"i": i, "pad": "q" * (i % 7)}))
    return seg


@pytest.fixture(scope="module")
def segment_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    flight = tmp_path_factory.mktemp("seg") / "f"
    seg = _build_flight(flight)
    seg.rotate()  # closes segment 0 with a segment-end frame
    seg.close(0, True)
    return (flight / "segment-0000.fdr").read_bytes()


def _frames(data: bytes) -> list[Frame]:
    items = list(scan_segment(data))
    assert not any(isinstance(i, Damage) for i in items)
    return [i for i in items if isinstance(i, Frame)]


def test_the_intact_segment_has_every_frame_type(segment_bytes: bytes) -> None:
    types = [f.type for f in _frames(segment_bytes)]
    assert types[:2] == [framing.T_SEGMENT, framing.T_HEADER] and types[-1] == framing.T_SEGMENT_END
    assert types.count(framing.T_RECORD) == 40 and types.count(framing.T_SYNC) >= 3


def test_truncation_at_every_byte_offset(segment_bytes: bytes) -> None:
    frames = _frames(segment_bytes)
    ends = {f.end for f in frames} | {0}
    for cut in range(len(segment_bytes) + 1):
        items = list(scan_segment(segment_bytes[:cut]))  # must not raise
        got = [i for i in items if isinstance(i, Frame)]
        assert got == [f for f in frames if f.end <= cut], cut
        damages = [i for i in items if isinstance(i, Damage)]
        if cut in ends:
            assert damages == [], cut
        else:
            [d] = damages
            start = max(e for e in ends if e < cut)
            assert d.torn_tail and d.offset == start and d.length == cut - start, cut


def test_random_byte_flips_are_all_detected(segment_bytes: bytes) -> None:
    frames = _frames(segment_bytes)
    rng = random.Random(20261123)
    cases = 1200
    for _ in range(cases):
        pos = rng.randrange(len(segment_bytes))
        mask = rng.randrange(1, 256)
        data = bytearray(segment_bytes)
        data[pos] ^= mask
        items = list(scan_segment(bytes(data)))
        damages = [i for i in items if isinstance(i, Damage)]
        got = [i for i in items if isinstance(i, Frame)]
        hit = next(f for f in frames if f.offset <= pos < f.end)
        assert damages, f"flip at {pos} (mask {mask:#x}) not detected"
        assert got == [f for f in frames if f is not hit], pos  # everything outside the damaged frame survives
        [d] = damages
        assert d.offset == hit.offset and d.length == hit.end - hit.offset
        if hit is frames[-1]:
            assert d.torn_tail and d.records_lost is None
        else:
            assert d.records_lost == (1 if hit.type == framing.T_RECORD else 0), pos


def test_a_torn_middle_segment_reports_its_exact_loss(tmp_path: Path) -> None:
    flight = tmp_path / "f"
    seg = _build_flight(flight, n_records=30)
    seg.rotate()
    for i in range(30, 40):
        seg.add_record(record_body("p", i, 2000 + i, "x", {"i": i}))
    seg.close(0, True)
    first = flight / "segment-0000.fdr"
    data = first.read_bytes()
    frames = _frames(data)
    records = [f for f in frames if f.type == framing.T_RECORD]
    first.write_bytes(data[: records[25].offset + 5])  # lose records 25..29 and the segment end
    report = scan_flight(flight)
    [d] = report.damages
    assert d.torn_tail and d.records_lost == 5 and report.records_lost == 5 and not report.loss_unknown
    assert report.records_read == 35 and not report.clean


def test_a_crashed_flight_reports_an_unknown_tail(tmp_path: Path) -> None:
    flight = tmp_path / "f"
    seg = _build_flight(flight, n_records=10)
    seg.flush()
    (flight / "segment-0000.fdr").open("ab").write(b"\xfd\xa7R\x01partial")
    report = scan_flight(flight)
    assert report.footer is None and report.loss_unknown and report.records_read == 10 and not report.clean


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise_and_every_byte_is_accounted(blob: bytes) -> None:
    items = list(scan_segment(blob))
    covered = 0
    for item in items:
        if isinstance(item, Frame):
            covered += item.end - item.offset
        else:
            covered += item.length
    assert covered == len(blob)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=10))
def test_frames_round_trip(bodies: list[bytes]) -> None:
    data = b"".join(framing.encode_frame(framing.T_RECORD, b, i) for i, b in enumerate(bodies))
    frames = _frames(data)
    assert [f.body for f in frames] == bodies
    assert [f.rec_no for f in frames] == list(range(len(bodies)))


def test_a_record_number_jump_without_damaged_bytes_is_reported() -> None:
    data = framing.encode_frame(framing.T_RECORD, b"{}", 0) + framing.encode_frame(framing.T_RECORD, b"{}", 3)
    damages = [i for i in scan_segment(data) if isinstance(i, Damage)]
    assert [(d.length, d.records_lost) for d in damages] == [(0, 2)]


def test_frame_layout_is_pinned() -> None:
    """The byte layout of docs/fdr-format.md: magic, type, version, length, rec_no, crc32, body."""
    frame = framing.encode_frame(framing.T_RECORD, b'{"a":1}', 7)
    assert frame.hex() == "fda75201070000000700000074e0f1547b2261223a317d"


GOLDEN = Path(__file__).parent / "golden" / "segment-0000.fdr"


def _golden_flight(flight_dir: Path) -> None:
    seg = FlightSegments(str(flight_dir), header("golden"), segment_bytes=1 << 20, resync_interval_bytes=200,
                         clock=FakeClock())
    seg.open()
    for i in range(6):
        seg.add_record(record_body("c7_geo_registration", i, 5_000_000_000 + i * 100_000_000, "c7.fix",
                                   {"lat": 50.45 + i * 1e-4, "lon": 30.52, "sigma_m": 3.5}))
    seg.emit("fdr.overrun", {"producer_id": "c1_camera", "dropped_count": 3, "first_seq": 10, "last_seq": 12})
    seg.close(3, True)


def test_golden_segment_is_still_read_and_still_written_the_same(tmp_path: Path) -> None:
    flight = tmp_path / "golden"
    flight.mkdir()
    _golden_flight(flight)
    fresh = (flight / "segment-0000.fdr").read_bytes()
    golden = GOLDEN.read_bytes()
    recs = [record_from_body(f.body) for f in _frames(golden) if f.type == framing.T_RECORD]
    assert [r.payload["lat"] for r in recs[:6]] == [50.45 + i * 1e-4 for i in range(6)]
    assert recs[-1].kind == "fdr.overrun" and recs[-1].producer_id == "fdr"
    # Timestamps of the recorder's own record come from the clock: compare everything else byte for byte.
    assert len(fresh) == len(golden)
    assert [f.type for f in _frames(fresh)] == [f.type for f in _frames(golden)]
    assert [f.body for f in _frames(fresh) if f.type == framing.T_RECORD][:6] == \
        [f.body for f in _frames(golden) if f.type == framing.T_RECORD][:6]
    assert fresh == golden, "the segment format changed: bump FRAME_VERSION/docs and regenerate the golden file"
