"""CapacityCapPolicy (via on_rotation) and RecordKindPolicy."""

from __future__ import annotations

from pathlib import Path

import pytest
from fdr_helpers import header, make_writer

from gps_denied_onboard.components.c13_fdr import (
    CapacityCapPolicy,
    KindRule,
    RecordKindPolicy,
    read_flight_records,
    scan_flight,
)
from gps_denied_onboard.components.c13_fdr.tool import verify_problems
from gps_denied_onboard.fdr_client import FdrClientRegistry, make_fdr_client


def test_capacity_cap_deletes_oldest_segments_and_records_it(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    cap = CapacityCapPolicy(cap_bytes=40_000)
    w = make_writer(tmp_path, reg, on_rotation=cap, segment_bytes=10_000, flight_cap_bytes=40_000)
    c = make_fdr_client("p", registry=reg, capacity=8192)
    w.start()
    w.open_flight(header())
    for i in range(1500):
        c.enqueue("x", {"i": i, "pad": "r" * 60})
    footer = w.close_flight()
    w.stop()
    flight = tmp_path / "flight-1"
    segs = sorted(p.name for p in flight.glob("segment-*.fdr"))
    on_disk = sum(p.stat().st_size for p in flight.glob("segment-*.fdr"))
    assert on_disk <= 40_000
    assert segs[0] != "segment-0000.fdr"
    assert footer.rollover_count == cap.rollover_count == int(segs[0][8:12])
    recs = read_flight_records(flight)
    rolls = [r for r in recs if r.kind == "segment_rollover"]
    assert rolls and rolls[-1].producer_id == "fdr" and rolls[-1].payload["cap_bytes"] == 40_000
    kept = [r.payload["i"] for r in recs if r.kind == "x"]
    assert kept == list(range(kept[0], 1500))  # the newest records survive, contiguous
    report = scan_flight(flight)
    assert report.header is not None and report.header.flight_id == "flight-1"  # header repeated per segment
    assert report.clean and verify_problems(report) == []


def test_writer_never_imports_the_policies() -> None:
    import ast

    import gps_denied_onboard.components.c13_fdr.segments as segments
    import gps_denied_onboard.components.c13_fdr.writer as writer

    for mod in (writer, segments):
        tree = ast.parse(Path(mod.__file__ or "").read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "CapacityCapPolicy" not in names


def test_kind_policy_drops_rate_limits_and_marks(tmp_path: Path) -> None:
    reg = FdrClientRegistry()
    ticks = iter(range(0, 10**12, 10_000_000))  # records 10 ms apart
    policy = RecordKindPolicy({"c1.frame_stats": KindRule(keep=False), "c3.vo_debug": KindRule(max_per_s=10)})
    c = make_fdr_client("p", registry=reg, capacity=4096)
    c._now = lambda: next(ticks)  # type: ignore[method-assign]
    w = make_writer(tmp_path, reg, kind_policy=policy)
    w.start()
    w.open_flight(header())
    for _ in range(200):  # 6 s of record timestamps (each enqueue is 10 ms later)
        c.enqueue("c1.frame_stats", {})
        c.enqueue("c3.vo_debug", {})
        c.enqueue("c7.fix", {})
    w.close_flight()
    w.stop()
    recs = read_flight_records(tmp_path / "flight-1")
    kinds = [r.kind for r in recs]
    assert "c1.frame_stats" not in kinds and kinds.count("c7.fix") == 200
    assert 60 <= kinds.count("c3.vo_debug") <= 71  # 10/s over 6 s plus a burst of 10
    markers = [r.payload for r in recs if r.kind == "fdr.kind_policy_dropped"]
    dropped = {(m["record_kind"], m["reason"]): 0 for m in markers}
    for m in markers:
        dropped[(m["record_kind"], m["reason"])] += m["dropped_count"]
    assert dropped[("c1.frame_stats", "dropped_by_rule")] == 200
    assert dropped[("c3.vo_debug", "rate_limited")] == 200 - kinds.count("c3.vo_debug")
    assert w.records_dropped_policy == 200 + dropped[("c3.vo_debug", "rate_limited")]


@pytest.mark.parametrize("kind", ["log", "fdr.overrun", "segment_rollover"])
def test_the_recorder_cannot_be_switched_off_by_policy(kind: str) -> None:
    with pytest.raises(ValueError, match="protected"):
        RecordKindPolicy({kind: KindRule(keep=False)})


def test_rule_and_cap_validation() -> None:
    with pytest.raises(ValueError):
        KindRule(max_per_s=0)
    with pytest.raises(ValueError):
        CapacityCapPolicy(0)


def test_a_failing_rotation_hook_does_not_stop_recording(tmp_path: Path) -> None:
    def broken(event: object) -> int:
        raise RuntimeError("policy bug")

    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, on_rotation=broken, segment_bytes=4096, flight_cap_bytes=1 << 30)
    c = make_fdr_client("p", registry=reg, capacity=4096)
    w.start()
    w.open_flight(header())
    for i in range(300):
        c.enqueue("x", {"i": i, "pad": "h" * 40})
    footer = w.close_flight()
    w.stop()
    assert [r.payload["i"] for r in read_flight_records(tmp_path / "flight-1")] == list(range(300))
    assert footer.records_written == 300 and footer.clean_shutdown
