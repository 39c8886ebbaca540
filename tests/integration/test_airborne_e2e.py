"""End to end: the demo pipeline (synthetic world -> signed cache -> simulated flight
-> real airborne runtime in real time -> autopilot emulator over MAVLink on UDP
loopback), then the same with faults injected.

One world, flight and cache are built per module (about 15 s) and flown several
times; every flight runs in real time (~11 s).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pytest

from gps_denied_onboard.autopilot_emulator import FaultPlan
from gps_denied_onboard.components.c1_camera import CapturedFrame, FrameSource, SourceStats
from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.components.c7_geo_registration import GeoRasterMap
from gps_denied_onboard.components.c13_fdr import read_flight_records, scan_flight
from gps_denied_onboard.config import GdnConfig
from gps_denied_onboard.runtime_root.demo import DemoParams, Prepared, demo_main, prepare
from gps_denied_onboard.runtime_root.demo_rehearsal import RehearsalResult, run_rehearsal
from tests.testlib.logging_state import restore_gdn_logging  # noqa: F401 - autouse fixture

PARAMS = DemoParams(seed=3, world_px=1024, duration_s=10.0, fps=5.0)




@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(PARAMS, tmp_path_factory.mktemp("demo_inputs"), rebuild=False, say=lambda _: None)


@pytest.fixture(scope="module")
def raster(prepared: Prepared) -> GeoRasterMap:
    return GeoRasterMap(prepared.pair_dir / "map.tif")


def _window(result: RehearsalResult, a_s: float, b_s: float) -> tuple[int, int]:
    """Emulator receipt-time window [a, b) seconds after the first position message."""
    t0 = result.report.judgements[0].receipt_ns
    return t0 + int(a_s * 1e9), t0 + int(b_s * 1e9)


def _fixes_between(result: RehearsalResult, a_s: float, b_s: float) -> list[int]:
    lo, hi = _window(result, a_s, b_s)
    return [j.fix_type for j in result.report.of_type() if lo <= j.receipt_ns < hi]


def test_demo_pipeline_end_to_end(prepared: Prepared, tmp_path: Path) -> None:
    cache = open_cache(prepared.cache_dir, trusted_keys=[prepared.public_key], state_path=prepared.state_path)
    try:
        result = run_rehearsal(prepared.flight_dir, cache.map_source(), fdr_root=tmp_path / "fdr")
    finally:
        cache.close()
    rep = result.report
    gps = rep.of_type("GPS_INPUT")
    assert result.first_fix is not None, "never localised"
    first_3d = next(j.receipt_ns for j in gps if j.fix_type == 3)
    assert rep.rate_hz(start_ns=first_3d) >= 5.0
    assert rep.max_gap_s() <= 0.3, f"gap {rep.max_gap_s():.3f} s between position messages"
    assert rep.acceptance_ratio() >= 0.99, rep.lines()
    assert len([j for j in gps if j.judged]) >= 40
    assert not rep.field_problems, rep.field_problems
    latencies = sorted(result.tracking_latencies_ms())
    assert len(latencies) >= 30
    p99 = latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)]
    assert p99 <= 300.0, f"capture->send p99 {p99:.0f} ms"
    # The FDR flight is closed cleanly, readable, and holds what each producer recorded.
    assert result.footer.clean_shutdown
    assert scan_flight(result.flight_dir).clean
    kinds = {r.kind for r in read_flight_records(result.flight_dir)}
    assert {"runtime.started", "runtime.stopped", "runtime.frame", "runtime.latency", "c2.position_out",
            "c2.link_state", "c2.timesync", "c7.fix"} <= kinds
    assert result.counters["worker_errors"] == 0


def test_malformed_mavlink_and_link_drop(prepared: Prepared, raster: GeoRasterMap, tmp_path: Path) -> None:
    faults = FaultPlan(garbage_windows_s=((2.0, 9.0),), garbage_rate_hz=40.0, drop_windows_s=((4.0, 6.5),),
                       reorder_prob=0.05, seed=11)
    result = run_rehearsal(prepared.flight_dir, raster, fdr_root=tmp_path / "fdr", faults=faults)
    rep, stats = result.report, result.link_stats
    assert rep.garbage_sent > 100 and stats.bad_messages > 50
    assert stats.link_drops >= 1 and stats.link_returns >= 1
    assert result.counters["worker_errors"] == 0
    # Nothing crosses a dropped link; afterwards output is back at full rate and accepted.
    lo, hi = _window(result, 0.0, 30.0)
    after_drop = [j for j in rep.of_type() if j.receipt_ns > lo + int(7.6e9)]
    assert after_drop and rep.rate_hz(start_ns=after_drop[0].receipt_ns) >= 5.0
    assert rep.acceptance_ratio() >= 0.99
    assert any("link back" in text for _, text in rep.statustexts)
    records = read_flight_records(result.flight_dir)
    assert [r.payload["up"] for r in records if r.kind == "c2.link_state"][:3] == [True, False, True]
    assert any(r.kind == "c2.bad_data" for r in records)
    assert scan_flight(result.flight_dir).clean


class _StallingCamera:
    """Wraps the replay camera; `read` hangs (like a stuck driver) inside a wall-clock window."""

    def __init__(self, inner: FrameSource, window: tuple[float, float]) -> None:
        self._inner = inner
        self._window = window

    @property
    def stats(self) -> SourceStats:
        return self._inner.stats

    @property
    def exhausted(self) -> bool:
        return self._inner.exhausted

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        a, b = self._window
        now = time.monotonic()
        if a <= now < b:
            time.sleep(b - now)
            return None
        return self._inner.read(timeout_s)

    def close(self) -> None:
        self._inner.close()


def test_camera_stall(prepared: Prepared, raster: GeoRasterMap, tmp_path: Path) -> None:
    base = GdnConfig()
    cfg = dataclasses.replace(base, airborne=dataclasses.replace(base.airborne, stall_timeout_s=1.0,
                                                                 camera_stall_s=0.8, supervise_interval_s=0.2))
    t0 = time.monotonic() + 1.0  # rehearsal lead-in
    window = (t0 + 4.0, t0 + 6.5)
    result = run_rehearsal(prepared.flight_dir, raster, fdr_root=tmp_path / "fdr", config=cfg,
                           camera_wrapper=lambda src: _StallingCamera(src, window))
    rep = result.report
    # Output never stops; fix_type drops during the stall and is back to 3D after it.
    assert rep.max_gap_s() <= 0.3
    during = [j.fix_type for j in rep.of_type() if window[0] + 1.2 < _mono_s(j.receipt_ns) < window[1]]
    after = [j.fix_type for j in rep.of_type() if _mono_s(j.receipt_ns) > window[1] + 1.5]
    assert during and max(during) < 3, during
    assert after and after[-1] == 3
    assert any("camera" in text for _, text in rep.statustexts)
    records = read_flight_records(result.flight_dir)
    stalls = [r.payload for r in records if r.kind == "runtime.thread_stall"]
    assert any(s["thread"] == "camera" for s in stalls)
    assert any(r.kind == "runtime.health" and "camera stalled" in r.payload["reason"] for r in records)
    assert result.counters["restarts"] >= 1
    assert rep.acceptance_ratio() >= 0.99


def _mono_s(ns: int) -> float:
    return ns / 1e9  # WallClock's monotonic_ns is time.monotonic_ns


def test_nan_attitude(prepared: Prepared, raster: GeoRasterMap, tmp_path: Path) -> None:
    faults = FaultPlan(nan_attitude_windows_s=((4.0, 7.0),))
    result = run_rehearsal(prepared.flight_dir, raster, fdr_root=tmp_path / "fdr", faults=faults)
    rep = result.report
    assert result.link_stats.rejected_values > 50
    assert result.counters["worker_errors"] == 0
    assert rep.max_gap_s() <= 0.3
    fixes = [(j.receipt_ns, j.fix_type) for j in rep.of_type()]
    start = rep.judgements[0].receipt_ns
    dropped = [f for t, f in fixes if start + int(4.8e9) < t < start + int(6.8e9)]
    assert dropped and min(dropped) < 3, "fix_type must drop while the attitude is unusable"
    assert fixes[-1][1] == 3, "output must resume as a 3D fix"
    assert any("degraded" in text for _, text in rep.statustexts)
    records = read_flight_records(result.flight_dir)
    assert any(r.kind == "c2.telemetry_rejected" for r in records)
    assert rep.acceptance_ratio() >= 0.99


def test_demo_cli_reuses_inputs(prepared: Prepared, capsys: pytest.CaptureFixture[str]) -> None:
    root = prepared.cache_dir.parent
    code = demo_main(["--work-dir", str(root), "--seed", str(PARAMS.seed), "--duration", str(PARAMS.duration_s),
                      "--fps", str(PARAMS.fps), "--quiet"])
    out = capsys.readouterr().out
    assert "world    reused" in out and "cache    reused" in out
    assert "summary" in out and "accepted by the EKF gate" in out and "FDR flight" in out
    assert code == 0, out



def test_airborne_run_closes_the_flight_cleanly_on_sigterm(prepared: Prepared, tmp_path: Path) -> None:
    """`airborne run --config` as a process (replay camera, bench raster, UDP link to the
    emulator): SIGUSR1 asks for a position reset (MAV_CMD_EXTERNAL_POSITION_ESTIMATE); this
    process never has a healthy output (its replay camera and the emulator's telemetry
    start seconds apart), so the request expires, reported and recorded, and nothing is
    sent (the send itself: test_airborne_runtime). SIGTERM ends it with exit 0 and a
    clean FDR footer."""
    import os
    import signal
    import subprocess
    import sys

    import yaml

    from gps_denied_onboard.autopilot_emulator import AutopilotEmulator, FlightTrack
    from gps_denied_onboard.components.c13_fdr import FlightReader, list_flights
    from gps_denied_onboard.dataset import read_flight

    ds = read_flight(prepared.flight_dir)
    emu = AutopilotEmulator(FlightTrack.from_dataset(ds))
    emu.start()
    config = {
        "fc_link": {"url": emu.url, "reset_request_timeout_s": 1.0},
        "fdr": {"flight_root": str(tmp_path / "flights")},
        "airborne": {"camera": f"replay:{prepared.flight_dir}", "map_raster": str(prepared.pair_dir / "map.tif"),
                     "camera_calibration": str(prepared.flight_dir / "mav0" / "cam0" / "sensor.yaml"),
                     "ground_alt_msl_m": ds.meta.ground_alt_msl_m},
    }
    cfg_path = tmp_path / "airborne.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gps_denied_onboard.cli.airborne_main import main; sys.exit(main())",
         "run", "--config", str(cfg_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and len(emu.report().of_type()) < 15 and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10.0
        while (time.monotonic() < deadline and proc.poll() is None
               and not any("reset not sent" in text for _, text in emu.report().statustexts)):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        report = emu.stop()
    assert proc.returncode == 0, err[-2000:]
    assert len(report.of_type()) >= 15 and report.companion_heartbeats >= 1
    flights = list_flights(tmp_path / "flights")
    assert len(flights) == 1
    reader = FlightReader(tmp_path / "flights" / flights[0])
    scan = reader.scan()
    assert scan.clean and scan.footer is not None and scan.footer.clean_shutdown
    assert "clean_shutdown=True" in out
    records = read_flight_records(tmp_path / "flights" / flights[0])
    resets = [r.payload for r in records if r.kind == "runtime.position_reset"]
    health = [r.payload for r in records if r.kind == "runtime.health"]
    assert report.external_position_estimates == 0  # never a reset from an untrusted position
    assert any("GDN reset not sent" in text for _, text in report.statustexts)
    assert [r["action"] for r in resets] == ["request_expired"]
    assert all(h["health"] != "ok" for h in health)


def test_example_config_and_unit_file_are_consistent() -> None:
    from gps_denied_onboard.config import load_config

    root = Path(__file__).resolve().parents[2] / "hardware"
    if not root.is_dir():
        pytest.skip("hardware/ is not in this test's runfiles")
    cfg = load_config(root / "config" / "airborne.example.yaml")
    assert not cfg.unknown_keys, cfg.unknown_keys
    assert cfg.fc_link.outputs == ("gps_input",) and cfg.fc_link.output_rate_hz >= 5
    unit = (root / "systemd" / "gdn-airborne.service").read_text()
    assert "airborne run --config /etc/gdn/airborne.yaml" in unit and "KillSignal=SIGTERM" in unit
