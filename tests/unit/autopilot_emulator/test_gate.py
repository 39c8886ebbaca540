"""The EKF-style innovation gate and field checks, without any network."""

from __future__ import annotations

import math

import pytest

from gps_denied_onboard.autopilot_emulator import (
    GateConfig,
    Truth,
    field_problems,
    innovation_gate,
    ne_error_m,
    straight_line_track,
)

TRUTH = Truth(50.0, 30.0, 200.0, 5.0, 0.0, 0.0)
CFG = GateConfig()


def _offset(north_m: float, east_m: float) -> tuple[float, float]:
    return (TRUTH.lat_deg + math.degrees(north_m / 6_378_137.0),
            TRUTH.lon_deg + math.degrees(east_m / (6_378_137.0 * math.cos(math.radians(TRUTH.lat_deg)))))


def test_ne_error_round_trip() -> None:
    lat, lon = _offset(30.0, -40.0)
    dn, de = ne_error_m(lat, lon, TRUTH.lat_deg, TRUTH.lon_deg)
    assert (dn, de) == pytest.approx((30.0, -40.0), abs=1e-6)


def test_error_consistent_with_claim_is_accepted_and_overconfident_claim_rejected() -> None:
    lat, lon = _offset(8.0, 6.0)  # 10 m error
    honest = innovation_gate(lat_deg=lat, lon_deg=lon, vel_ned=None, horiz_accuracy_m=5.0, speed_accuracy_m_s=None,
                             truth=TRUTH, cfg=CFG)
    liar = innovation_gate(lat_deg=lat, lon_deg=lon, vel_ned=None, horiz_accuracy_m=0.5, speed_accuracy_m_s=None,
                           truth=TRUTH, cfg=CFG)
    assert honest.accepted and honest.error_h_m == pytest.approx(10.0, abs=1e-6)
    assert not liar.accepted and "position innovation" in liar.reason
    # The EKF3 test ratio: 100 m² / (25 · 2 · (0.5² + 1)) = 1.6
    assert liar.pos_ratio == pytest.approx(100.0 / (25.0 * 2.0 * 1.25))


def test_velocity_gate() -> None:
    good = innovation_gate(lat_deg=TRUTH.lat_deg, lon_deg=TRUTH.lon_deg, vel_ned=(5.2, 0.1, 0.0),
                           horiz_accuracy_m=1.0, speed_accuracy_m_s=0.5, truth=TRUTH, cfg=CFG)
    bad = innovation_gate(lat_deg=TRUTH.lat_deg, lon_deg=TRUTH.lon_deg, vel_ned=(-2.0, 0.0, 0.0),
                          horiz_accuracy_m=1.0, speed_accuracy_m_s=0.3, truth=TRUTH, cfg=CFG)
    assert good.accepted and good.vel_ratio is not None and good.vel_ratio < 0.1
    assert not bad.accepted and "velocity" in bad.reason


def test_field_problems() -> None:
    ok = {"lat_deg": 50.0, "lon_deg": 30.0, "alt": 1.0, "vn": 0.0, "ve": 0.0, "vd": 0.0, "hdop": 0.8, "vdop": 1.0,
          "horiz_accuracy": 2.0, "vert_accuracy": 3.0, "speed_accuracy": 0.5, "time_week": 2400}
    assert field_problems(ok, 3) == []
    assert any("zero" in p for p in field_problems({**ok, "horiz_accuracy": 0.0}, 3))
    assert any("time_week" in p for p in field_problems({**ok, "time_week": 0}, 3))
    assert any("not finite" in p for p in field_problems({**ok, "vn": math.nan}, 3))
    assert field_problems({**ok, "time_week": 0, "hdop": 0.0}, 1) == []  # no fix: not judged on those


def test_track_truth_velocity() -> None:
    track = straight_line_track(5.0, speed_m_s=10.0, heading_deg=90.0)
    truth = track.truth_at(track.t0_ns + 2_000_000_000)
    assert truth.ve == pytest.approx(10.0, rel=1e-3) and abs(truth.vn) < 1e-3
    assert track.covers(track.t0_ns) and not track.covers(track.t_end_ns + 1)
