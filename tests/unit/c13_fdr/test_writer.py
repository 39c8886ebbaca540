"""FileFdrWriter contracts (DESIGN §3 "FDR writer")."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from fdr_helpers import FaultyIO, header, make_writer, wait_until

from gps_denied_onboard.components.c13_fdr import (
    FdrConcurrentWriterError,
    FdrError,
    FdrFlightIdMismatchError,
    FdrHeaderError,
    FdrLifecycleError,
    FlightFooter,
    FlightHeader,
    OsSegmentIO,
    read_flight_records,
    scan_flight,
)
from gps_denied_onboard.fdr_client import FdrClientRegistry, make_fdr_client


def _segments(flight_dir: Path) -> list[Path]:
    return sorted(flight_dir.glob("segment-*.fdr"))


def test_full_lifecycle_header_footer_and_records(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg)
    c7 = make_fdr_client("c7_geo_registration", registry=reg)
    w.start()
    h = header("f-001")
    w.open_flight(h)
    for i in range(100):
        c7.enqueue("fdr.log_bridge_dropped", {"dropped_count": i})
    footer = w.close_flight()
    w.stop()
    flight = tmp_path / "f-001"
    report = scan_flight(flight)
    assert report.header == h
    assert report.footer == footer and footer.clean_shutdown and report.clean
    assert footer.records_written == 100 and footer.records_dropped_overrun == 0 and footer.rollover_count == 0
    assert footer.bytes_written == sum(p.stat().st_size for p in _segments(flight))  # includes the footer frame
    recs = read_flight_records(flight)
    assert [r.payload["dropped_count"] for r in recs] == list(range(100))
    assert {r.producer_id for r in recs} == {"c7_geo_registration"}
    assert [r.seq for r in recs] == list(range(100))
    assert set(FlightHeader.__dataclass_fields__) == {
        "flight_id", "flight_started_at_iso", "flight_started_at_monotonic_ns", "config_snapshot",
        "signing_key_rotation_event", "manifest_content_hashes"}
    assert set(FlightFooter.__dataclass_fields__) == {
        "flight_id", "flight_ended_at_iso", "flight_ended_at_monotonic_ns", "records_written",
        "records_dropped_overrun", "bytes_written", "rollover_count", "clean_shutdown"}


def test_close_flight_twice_returns_the_stored_footer(tmp_path: Path) -> None:
    w = make_writer(tmp_path)
    w.start()
    w.open_flight(header())
    first = w.close_flight()
    assert w.close_flight() is first
    w.stop()
    w.stop()  # idempotent
    assert w.close_flight() is first


def test_lifecycle_out_of_order_is_an_error(tmp_path: Path) -> None:
    w = make_writer(tmp_path)
    with pytest.raises(FdrLifecycleError, match="start"):
        w.open_flight(header())
    w.start()
    with pytest.raises(FdrLifecycleError):
        w.start()
    with pytest.raises(FdrLifecycleError, match="before open_flight"):
        w.close_flight()
    w.open_flight(header())
    with pytest.raises(FdrLifecycleError, match="once"):
        w.open_flight(header("other"))
    w.stop()


def test_segments_rotate_by_size_and_a_record_never_straddles(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_bytes=8192, flight_cap_bytes=1 << 30, resync_interval_bytes=1024)
    c = make_fdr_client("p", registry=reg, capacity=4096)
    w.start()
    w.open_flight(header())
    for i in range(600):
        c.enqueue("x.blob", {"i": i, "pad": "z" * (i % 50)})
    footer = w.close_flight()
    w.stop()
    segs = _segments(tmp_path / "flight-1")
    assert len(segs) > 3
    assert all(p.stat().st_size <= 8192 for p in segs)
    assert [p.name for p in segs] == [f"segment-{i:04d}.fdr" for i in range(len(segs))]
    report = scan_flight(tmp_path / "flight-1")
    assert report.clean and report.records_read == footer.records_written == 600
    assert all(s.start is not None for s in report.segments)
    assert all(s.end is not None for s in report.segments[:-1]) and report.segments[-1].has_footer


def test_a_record_bigger_than_a_segment_gets_its_own(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_bytes=4096, flight_cap_bytes=1 << 30)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    c.enqueue("x", {"i": 0})
    c.enqueue("x", {"i": 1, "big": "b" * 10000})
    c.enqueue("x", {"i": 2})
    w.close_flight()
    w.stop()
    assert [r.payload["i"] for r in read_flight_records(tmp_path / "flight-1")] == [0, 1, 2]


def test_segments_are_opened_append_only(tmp_path: Path) -> None:
    fd = OsSegmentIO().open_append(str(tmp_path / "s.fdr"))
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        assert flags & os.O_APPEND and flags & os.O_ACCMODE == os.O_WRONLY
    finally:
        os.close(fd)


def test_every_segment_is_fsynced_before_close_and_periodically(tmp_path: Path) -> None:
    io = FaultyIO()
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, segment_bytes=4096, flight_cap_bytes=1 << 30,
                    fsync_interval_s=0.05)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    base = io.fsyncs
    for i in range(30):  # 0.3 s of trickling records
        c.enqueue("x", {"i": i})
        threading.Event().wait(0.01)
    assert wait_until(lambda: io.fsyncs - base >= 3, 2.0), "no periodic fsync within the interval"
    for i in range(300):
        c.enqueue("x", {"i": i, "pad": "p" * 40})
    w.close_flight()
    w.stop()
    assert len(list((tmp_path / "flight-1").glob("segment-*.fdr"))) > 1
    assert io.closed_unsynced == []


def test_a_second_writer_gets_a_concurrent_writer_error(tmp_path: Path) -> None:
    a, b = make_writer(tmp_path), make_writer(tmp_path)
    a.start()
    b.start()
    a.open_flight(header("one"))
    with pytest.raises(FdrConcurrentWriterError) as err:
        b.open_flight(header("two"))
    assert err.value.lock_path.endswith(".fdr.lock") and str(os.getpid()) in err.value.holder
    assert not (tmp_path / "two").exists()
    a.close_flight()
    b.open_flight(header("two"))  # the lock is released with the flight
    b.close_flight()
    a.stop()
    b.stop()


def test_mismatched_flight_id_rolls_back(tmp_path: Path) -> None:
    w = make_writer(tmp_path, expected_flight_id="planned")
    w.start()
    with pytest.raises(FdrFlightIdMismatchError) as err:
        w.open_flight(header("other"))
    assert err.value.value == "other" and isinstance(err.value, FdrError)
    assert not (tmp_path / "other").exists()  # empty segment and directory removed
    other = make_writer(tmp_path)  # lock released
    other.start()
    other.open_flight(header("x"))
    other.close_flight()
    other.stop()
    w.stop()


@pytest.mark.parametrize("bad_id", ["", "..", "a/b"])
def test_unusable_flight_ids_are_refused(tmp_path: Path, bad_id: str) -> None:
    w = make_writer(tmp_path)
    w.start()
    with pytest.raises(FdrHeaderError):
        w.open_flight(header(bad_id))
    w.stop()


def test_open_failure_on_the_file_system_rolls_back(tmp_path: Path) -> None:
    io = FaultyIO()
    io.fail_writes, io.budget = 28, 10  # ENOSPC after 10 bytes of the header
    w = make_writer(tmp_path, segment_io=io)
    w.start()
    with pytest.raises(OSError):
        w.open_flight(header())
    assert not (tmp_path / "flight-1").exists()
    fd = os.open(tmp_path / ".fdr.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)
    w.stop()


def test_unregistered_kinds_and_bad_records_never_stop_the_writer(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    c.enqueue("c99.not_in_registry", {"a": 1})
    c.enqueue(["unhashable"], {"a": 2})  # type: ignore[arg-type]
    c.enqueue("fdr.log_bridge_dropped", {"dropped_count": 1, "surprise": [1, 2]})
    c.enqueue("fdr.log_bridge_dropped", {"dropped_count": float("nan"), "obj": object()})
    footer = w.close_flight()
    w.stop()
    recs = read_flight_records(tmp_path / "flight-1")
    assert recs[0].kind == "c99.not_in_registry" and recs[0].flags == ("unregistered_kind",)
    assert recs[1].payload == {"dropped_count": 1, "extra": {"surprise": [1, 2]}} and "unknown_keys" in recs[1].flags
    assert recs[2].payload["dropped_count"] is None and recs[2].payload["extra"]["obj"].startswith("<object")
    assert len(recs) == 3 and footer.records_written == 3 and w.records_dropped_bad == 1


def test_serialisation_happens_on_the_writer_thread(tmp_path: Path) -> None:
    seen: list[str] = []

    class Probe:
        def tolist(self) -> Any:
            seen.append(threading.current_thread().name)
            return [1]

    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    c.enqueue("x", {"probe": Probe()})
    assert seen == []  # enqueue did not serialise
    w.close_flight()
    w.stop()
    assert seen == ["fdr-writer"]


def test_records_enqueued_before_open_flight_are_kept(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    c = make_fdr_client("early", registry=reg)
    c.enqueue("x", {"i": 0})
    w = make_writer(tmp_path, reg)
    w.start()
    threading.Event().wait(0.05)
    w.open_flight(header())
    w.close_flight()
    w.stop()
    assert [r.payload for r in read_flight_records(tmp_path / "flight-1")] == [{"i": 0}]


def test_overrun_markers_reach_the_file_and_the_footer(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    c = make_fdr_client("burst", registry=reg, capacity=8, on_overrun=lambda p, n: None)
    for i in range(50):
        c.enqueue("x", {"i": i})
    w = make_writer(tmp_path, reg)
    w.start()
    w.open_flight(header())
    footer = w.close_flight()
    w.stop()
    recs = read_flight_records(tmp_path / "flight-1")
    markers = [r for r in recs if r.kind == "fdr.overrun"]
    assert [m.payload["dropped_count"] for m in markers] == [42] and markers[0].producer_id == "fdr"
    assert markers[0].payload["producer_id"] == "burst"
    assert footer.records_dropped_overrun == 42
    assert [r.payload["i"] for r in recs if r.kind == "x"] == list(range(42, 50))
