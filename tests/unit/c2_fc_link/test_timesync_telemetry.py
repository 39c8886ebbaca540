"""Clock-offset estimation and telemetry decoding/validation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from gps_denied_onboard.components.c2_fc_link import ClockOffsetEstimator, LandedState
from gps_denied_onboard.components.c2_fc_link.telemetry import (
    TelemetryState,
    euler_from_quaternion,
    pressure_altitude_m,
)


def test_min_rtt_sample_wins() -> None:
    est = ClockOffsetEstimator()
    true_offset = 5_000_000_000
    # (send, one-way out, one-way back): asymmetric queueing biases long round trips.
    for send, out, back in [(0, 40_000_000, 1_000_000), (100_000_000, 1_000_000, 1_000_000),
                            (200_000_000, 1_000_000, 30_000_000)]:
        tc1 = send + out + true_offset
        assert est.add_timesync(send, tc1, send + out + back)
    got = est.estimate()
    assert got is not None and got.rtt_ns == 2_000_000
    assert abs(got.offset_ns - true_offset) <= 1_000_000


def test_absurd_round_trips_are_rejected_and_reboot_resets() -> None:
    est = ClockOffsetEstimator()
    assert not est.add_timesync(100, 5, 50)  # negative round trip
    assert not est.add_timesync(0, 5, 5_000_000_000)  # 5 s round trip
    assert est.add_timesync(0, 10_000_000_000, 2_000_000)
    assert est.add_timesync(1_000_000_000, 1_000_000, 1_002_000_000)  # autopilot rebooted: its clock restarted
    got = est.estimate()
    assert est.resets == 1 and got is not None and got.samples == 1
    assert got.offset_ns == 1_000_000 - 1_001_000_000


def test_to_local_falls_back_to_receipt_when_implausible() -> None:
    est = ClockOffsetEstimator()
    assert est.to_local_ns(123, receipt_ns=999) == 999  # no estimate yet
    est.add_timesync(0, 1_000_000_000, 1_000_000)
    offset = est.estimate().offset_ns  # type: ignore[union-attr]
    assert est.to_local_ns(2_000_000_000, receipt_ns=2_000_000_000 - offset + 3_000_000) == 2_000_000_000 - offset
    assert est.to_local_ns(50_000_000_000, receipt_ns=10) == 10  # would be in the future


def test_quaternion_to_euler_matches_zyx() -> None:
    roll, pitch, yaw = 0.1, -0.2, 2.5
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    q = (cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
         cr * cp * sy - sr * sp * cy)
    assert euler_from_quaternion(*q) == pytest.approx((roll, pitch, yaw), abs=1e-9)
    with pytest.raises(ValueError):
        euler_from_quaternion(0.0, 0.0, 0.0, 0.0)


def test_pressure_altitude() -> None:
    assert pressure_altitude_m(1013.25) == pytest.approx(0.0, abs=1e-6)
    assert pressure_altitude_m(898.76) == pytest.approx(1000.0, abs=2.0)


def _msg(mtype: str, **fields: object) -> SimpleNamespace:
    return SimpleNamespace(get_type=lambda: mtype, **fields)


def _state() -> TelemetryState:
    return TelemetryState(ClockOffsetEstimator(), lambda: 1_000, lambda: 1_767_225_600_000_000_000)


def test_nan_attitude_is_rejected_and_keeps_the_last_good_one() -> None:
    st = _state()
    assert st.apply(_msg("ATTITUDE", time_boot_ms=10, roll=0.1, pitch=0.2, yaw=0.3), 500) is None
    reason = st.apply(_msg("ATTITUDE", time_boot_ms=20, roll=math.nan, pitch=0.2, yaw=0.3), 600)
    assert reason is not None and "non-finite" in reason
    att = st.snapshot(True).attitude
    assert att is not None and att.roll_rad == pytest.approx(0.1) and att.receipt_ns == 500


def test_altitudes_landed_state_and_rangefinder_orientation() -> None:
    st = _state()
    st.apply(_msg("GLOBAL_POSITION_INT", time_boot_ms=1, lat=0, lon=0, alt=220_000, relative_alt=100_000, vx=0, vy=0,
                  vz=0, hdg=0), 5)
    st.apply(_msg("DISTANCE_SENSOR", time_boot_ms=1, min_distance=20, max_distance=10000, current_distance=9850,
                  orientation=25), 5)
    st.apply(_msg("DISTANCE_SENSOR", time_boot_ms=1, min_distance=20, max_distance=4000, current_distance=300,
                  orientation=0), 5)  # forward-facing: not an altitude
    assert st.apply(_msg("GLOBAL_POSITION_INT", time_boot_ms=1, lat=0, lon=0, alt=10**9, relative_alt=0, vx=0, vy=0,
                         vz=0, hdg=0), 6) is not None
    st.apply(_msg("EXTENDED_SYS_STATE", vtol_state=0, landed_state=2), 7)
    snap = st.snapshot(True)
    assert snap.altitudes["relative"].alt_m == 100.0 and snap.altitudes["msl"].alt_m == 220.0
    assert snap.altitudes["range"].alt_m == pytest.approx(98.5)
    assert snap.landed_state is LandedState.IN_AIR
    assert (snap.landed_state_code, snap.landed_state_ns) == (2, 7)
    assert LandedState.from_mavlink(99) is LandedState.UNKNOWN
