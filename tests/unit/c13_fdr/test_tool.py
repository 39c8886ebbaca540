"""The `fdr` tool: ls, dump, stats, verify, recover, export --mcap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fdr_helpers import header, make_writer
from mcap.reader import make_reader

from gps_denied_onboard.components.c13_fdr import framing, read_flight_records, scan_flight
from gps_denied_onboard.components.c13_fdr.reader import Frame, scan_segment
from gps_denied_onboard.components.c13_fdr.tool import EXIT_DAMAGED, EXIT_LOST, EXIT_OK, EXIT_USAGE, main
from gps_denied_onboard.fdr_client import FdrClientRegistry, make_fdr_client


def _flight(root: Path, flight_id: str = "f1", n: int = 50) -> Path:
    reg = FdrClientRegistry()
    w = make_writer(root, reg, segment_bytes=4096, flight_cap_bytes=1 << 30)
    cam = make_fdr_client("c1_camera", registry=reg)
    geo = make_fdr_client("c7_geo_registration", registry=reg)
    w.start()
    w.open_flight(header(flight_id))
    # Test-only kinds, deliberately not in the registry: stats must flag them.
    for i in range(n):
        cam.enqueue("c1.frame", {"i": i, "exposure_us": 800})
        geo.enqueue("c7.test_fix", {"i": i, "lat": 50.0 + i * 1e-5, "lon": 30.0})
    geo.enqueue("log", {"log_schema": "1.0", "level": "WARNING", "component": "c7", "event": "e", "msg": "m",
                        "kv": {}, "logger": "gdn.c7", "thread": "t"})
    w.close_flight()
    w.stop()
    return root / flight_id


def _corrupt_a_record(flight: Path) -> None:
    seg = flight / "segment-0000.fdr"
    data = bytearray(seg.read_bytes())
    frames = [f for f in scan_segment(bytes(data)) if isinstance(f, Frame) and f.type == framing.T_RECORD]
    data[frames[3].offset + 20] ^= 0x01
    seg.write_bytes(bytes(data))


def test_ls_lists_flights_with_clean_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _flight(tmp_path, "a")
    crashed = _flight(tmp_path, "b")
    last = sorted(crashed.glob("segment-*.fdr"))[-1]
    last.write_bytes(last.read_bytes()[:-10])  # footer torn
    assert main(["ls", str(tmp_path), "--json"]) == EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["flight_id"], r["clean"]) for r in rows] == [("a", True), ("b", False)]
    assert rows[0]["records"] == 101 and rows[0]["segments"] > 1
    assert main(["ls", str(tmp_path)]) == EXIT_OK
    assert "UNCLEAN" in capsys.readouterr().out


def test_dump_filters_by_kind_producer_and_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flight = _flight(tmp_path)
    assert main(["dump", str(flight), "--kind", "c7.test_fix"]) == EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 50 and {r["kind"] for r in rows} == {"c7.test_fix"}
    assert main(["dump", str(flight), "--producer", "c1_camera"]) == EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) == 50
    recs = read_flight_records(flight)
    t10 = recs[10].ts
    assert main(["dump", str(flight), "--since-ns", str(t10), "--until-ns", str(t10)]) == EXIT_OK
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["ts"] == t10


def test_stats_counts_per_producer_and_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flight = _flight(tmp_path)
    assert main(["stats", str(flight), "--json"]) == EXIT_OK
    st = json.loads(capsys.readouterr().out)
    counts = {(r["producer_id"], r["kind"]): r["count"] for r in st["per_producer_kind"]}
    assert counts == {("c1_camera", "c1.frame"): 50, ("c7_geo_registration", "c7.test_fix"): 50,
                      ("c7_geo_registration", "log"): 1}
    assert st["flags"] == {"unregistered_kind": 100} and st["clean"] and st["rollovers"] == 0
    assert main(["stats", str(flight)]) == EXIT_OK
    assert "c7_geo_registration" in capsys.readouterr().out


def test_verify_passes_a_clean_flight_and_fails_a_damaged_one(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    flight = _flight(tmp_path)
    assert main(["verify", str(flight)]) == EXIT_OK
    _corrupt_a_record(flight)
    assert main(["verify", str(flight)]) == EXIT_DAMAGED
    out = capsys.readouterr().out
    assert "CRC mismatch" in out and "segment-0000.fdr" in out and "records lost: 1" in out


def test_verify_fails_a_flight_without_footer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flight = _flight(tmp_path)
    last = sorted(flight.glob("segment-*.fdr"))[-1]
    last.write_bytes(last.read_bytes()[:-3])
    assert main(["verify", str(flight)]) == EXIT_DAMAGED
    assert "no footer" in capsys.readouterr().out


def test_recover_copies_everything_readable_and_says_what_was_lost(tmp_path: Path) -> None:
    flight = _flight(tmp_path)
    before = read_flight_records(flight)
    _corrupt_a_record(flight)
    out = tmp_path / "recovered"
    assert main(["recover", str(flight), "--out", str(out)]) == EXIT_LOST
    copy = read_flight_records(out)
    assert copy[0].kind == "fdr.recovered" and copy[0].payload["records_lost"] == 1
    survivors = [r for r in before if r not in copy]
    assert len(survivors) == 1  # exactly the corrupted one
    assert [r for r in copy[1:]] == [r for r in before if r != survivors[0]]
    report = scan_flight(out)
    assert not report.damages and report.footer is not None and report.footer.clean_shutdown is False
    clean_copy = tmp_path / "clean-copy"
    assert main(["recover", str(_flight(tmp_path, "f2")), "--out", str(clean_copy)]) == EXIT_OK
    assert main(["verify", str(clean_copy)]) == EXIT_OK
    assert main(["recover", str(flight), "--out", str(out)]) == EXIT_USAGE  # never overwrites


def test_export_mcap_reads_back_with_one_message_per_record(tmp_path: Path) -> None:
    flight = _flight(tmp_path)
    recs = read_flight_records(flight)
    out = tmp_path / "f1.mcap"
    assert main(["export", str(flight), "--mcap", str(out)]) == EXIT_OK
    with out.open("rb") as fh:
        reader = make_reader(fh)
        summary = reader.get_summary()
        assert summary is not None
        msgs = list(reader.iter_messages(log_time_order=False))
    assert len(msgs) == len(recs)
    topics = {ch.topic for ch in summary.channels.values()}
    assert topics == {"/c1_camera/c1.frame", "/c7_geo_registration/c7.test_fix", "/c7_geo_registration/log"}
    for schema in summary.schemas.values():
        assert schema.encoding == "jsonschema"
        assert json.loads(schema.data)["type"] == "object"
    for (msg_schema, channel, message), rec in zip(msgs, recs, strict=True):
        assert channel.message_encoding == "json" and msg_schema is not None and msg_schema.name == rec.kind
        body = json.loads(message.data)
        assert body["payload"] == rec.payload and body["ts"] == rec.ts
        # message times are wall clock: header start (2026-01-01T00:00:00Z at monotonic 123 ns) + elapsed
        assert message.log_time == 1_767_225_600 * 10**9 + rec.ts - 123
        assert channel.topic == f"/{rec.producer_id}/{rec.kind}"


def test_bad_input_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "nope")]) == EXIT_USAGE
    assert "not a flight directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_operator_binary_dispatches_fdr(tmp_path: Path) -> None:
    flight = _flight(tmp_path)
    res = subprocess.run([sys.executable, "-c",
                          "import sys; from gps_denied_onboard.cli.operator_main import main; sys.exit(main())",
                          "fdr", "verify", str(flight)],
                         capture_output=True, text=True, env={"PYTHONPATH": ":".join(p for p in sys.path if p)},
                         check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("OK:")


def test_stats_show_sequence_gaps_next_to_overrun_losses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = FdrClientRegistry()
    c = make_fdr_client("burst", registry=reg, capacity=4, on_overrun=lambda p, n: None)
    for i in range(10):
        c.enqueue("x", {"i": i})
    w = make_writer(tmp_path, reg)
    w.start()
    w.open_flight(header())
    w.close_flight()
    w.stop()
    assert main(["stats", str(tmp_path / "flight-1"), "--json"]) == EXIT_OK
    st = json.loads(capsys.readouterr().out)
    assert st["seq_gaps_by_producer"] == {"burst": 6} and st["overrun_dropped_by_producer"] == {"burst": 6}
