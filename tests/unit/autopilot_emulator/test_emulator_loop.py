"""The emulator against the real C2 link on loopback: telemetry replayed at the
track's rates, positions judged, faults injected."""

from __future__ import annotations

import math
import os
import random
import time

import pytest

from gps_denied_onboard.autopilot_emulator import (
    AutopilotEmulator,
    EmulatorConfigError,
    EmulatorProcess,
    EmulatorReport,
    FaultPlan,
    straight_line_track,
)
from gps_denied_onboard.components.c2_fc_link import FcLink, OutputHealth, PositionOutput
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig


def _fly(duration_s: float, *, error_m: float, claimed_sigma_m: float, faults: FaultPlan | None = None,
         rate_hz: float = 10.0) -> tuple[EmulatorReport, FcLink]:
    track = straight_line_track(duration_s, attitude_hz=20.0)
    emu = AutopilotEmulator(track, faults=faults)
    link = FcLink(FcLinkConfig(url=emu.url, link_timeout_s=0.5))
    link.start()
    emu.start()
    rng = random.Random(3)
    try:
        while not emu.replay_done.is_set():
            now = time.monotonic_ns()
            t = track.truth_at(emu.flight_from_mono(now))
            ang = rng.uniform(0, 2 * math.pi)
            dn, de = error_m * math.cos(ang), error_m * math.sin(ang)
            link.send_position(PositionOutput(
                valid_ns=now, capture_ns=now - 60_000_000,
                lat_deg=t.lat_deg + math.degrees(dn / 6_378_137.0),
                lon_deg=t.lon_deg + math.degrees(de / (6_378_137.0 * math.cos(math.radians(t.lat_deg)))),
                alt_msl_m=t.alt_m, vn=t.vn, ve=t.ve, vd=t.vd, cov_nn=claimed_sigma_m**2, cov_ne=0.0,
                cov_ee=claimed_sigma_m**2, health=OutputHealth.OK))
            time.sleep(1.0 / rate_hz)
        time.sleep(0.1)
    finally:
        report = emu.stop()
        link.stop()
    return report, link


def test_honest_positions_pass_and_telemetry_arrives() -> None:
    report, link = _fly(3.0, error_m=3.0, claimed_sigma_m=3.0)
    assert report.acceptance_ratio() == 1.0
    assert report.rate_hz() > 8.0 and report.max_gap_s() < 0.25
    assert report.companion_heartbeats >= 2 and not report.field_problems
    snap = link.snapshot()
    assert snap.attitude is not None and snap.altitudes["relative"].alt_m == 100.0
    assert snap.landed_state.value == "in_air" and snap.clock_offset_rtt_ns is not None
    assert max(report.delays_ms()) < 100.0


def test_overconfident_positions_are_rejected() -> None:
    report, _ = _fly(2.0, error_m=20.0, claimed_sigma_m=1.0)
    judged = [j for j in report.of_type() if j.judged]
    assert judged and report.acceptance_ratio() == 0.0
    assert all("position innovation" in j.reason for j in judged)


def test_fault_modes_link_drop_garbage_delay_nan() -> None:
    faults = FaultPlan(drop_windows_s=((1.0, 2.0),), garbage_windows_s=((0.2, 3.0),), garbage_rate_hz=40.0,
                       nan_attitude_windows_s=((2.2, 2.6),), delay_s=0.02, reorder_prob=0.2, seed=5)
    report, link = _fly(3.5, error_m=2.0, claimed_sigma_m=3.0, faults=faults)
    stats = link.stats()
    assert report.garbage_sent > 20 and stats.bad_messages > 10
    assert report.dropped_by_fault > 0 and stats.link_drops >= 1 and stats.link_returns >= 1
    assert stats.rejected_values >= 1  # NaN attitude refused
    start = report.judgements[0].receipt_ns
    # Nothing arrives during the drop; output resumes after it at full rate.
    assert report.max_gap_s() > 0.9
    assert report.rate_hz(start_ns=start + int(2.1e9)) > 8.0
    assert report.acceptance_ratio() == 1.0


def test_emulator_in_a_child_process_judges_like_the_in_process_one() -> None:
    """The benchmark's child-process emulator: telemetry reaches the link, positions
    are judged in the child and the report comes back whole; replay_done is mirrored."""
    track = straight_line_track(2.0, attitude_hz=20.0)
    emu = EmulatorProcess(track)
    assert emu.pid is not None and emu.pid != os.getpid()
    link = FcLink(FcLinkConfig(url=emu.url, link_timeout_s=0.5))
    link.start()
    emu.start()
    try:
        while not emu.replay_done.wait(0.1):
            now = time.monotonic_ns()
            t = track.truth_at(emu.flight_from_mono(now))
            link.send_position(PositionOutput(
                valid_ns=now, capture_ns=now - 50_000_000, lat_deg=t.lat_deg, lon_deg=t.lon_deg, alt_msl_m=t.alt_m,
                vn=t.vn, ve=t.ve, vd=t.vd, cov_nn=4.0, cov_ne=0.0, cov_ee=4.0, health=OutputHealth.OK))
    finally:
        report = emu.stop()
        link.stop()
    assert isinstance(report, EmulatorReport)
    assert len(report.of_type()) >= 5 and report.acceptance_ratio() == 1.0
    assert report.companion_heartbeats >= 1 and report.sent_telemetry > 20
    assert link.snapshot().attitude is not None


def test_emulator_process_refuses_a_simulated_clock() -> None:
    class _Sim:
        def monotonic_ns(self) -> int:
            return 0

        def unix_ns(self) -> int:
            return 0

    with pytest.raises(EmulatorConfigError):
        EmulatorProcess(straight_line_track(2.0), clock=_Sim())  # type: ignore[arg-type]
