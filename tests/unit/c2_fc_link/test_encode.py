"""Position -> GPS_INPUT / GLOBAL_POSITION_SENSOR / ODOMETRY field values."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from gps_denied_onboard.components.c2_fc_link import (
    FcLinkValueError,
    OutputHealth,
    PositionOutput,
    encode,
    gps_week_time,
    unix_ns_from_gps,
)
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig

CFG = FcLinkConfig(url="udpout:127.0.0.1:14550")


def _out(**kw: object) -> PositionOutput:
    base: dict[str, object] = dict(valid_ns=10_000_000_000, capture_ns=9_900_000_000, lat_deg=50.45, lon_deg=30.52,
                                   alt_msl_m=220.0, vn=3.0, ve=-4.0, vd=0.5, cov_nn=4.0, cov_ne=0.0, cov_ee=1.0,
                                   health=OutputHealth.OK)
    base.update(kw)
    return PositionOutput(**base)  # type: ignore[arg-type]


def test_gps_week_matches_an_independent_calendar_count() -> None:
    when = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    unix_ns = int(when.timestamp()) * 1_000_000_000
    week, week_ms = gps_week_time(unix_ns)
    gps_epoch = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)
    elapsed = (when - gps_epoch).total_seconds() + 18  # leap seconds since 1980
    assert week == int(elapsed // 604800)
    assert week_ms == int((elapsed % 604800) * 1000)
    assert unix_ns_from_gps(week, week_ms) == unix_ns


def test_gps_input_fills_velocity_time_and_nonzero_accuracies() -> None:
    f = encode.gps_input_fields(_out(), send_unix_ns=1_767_225_600_000_000_000, age_ns=100_000_000, cfg=CFG)
    assert (f["vn"], f["ve"], f["vd"]) == (3.0, -4.0, 0.5)
    assert f["ignore_flags"] == 0
    assert f["fix_type"] == 3 and f["satellites_visible"] == CFG.satellites_when_fixed
    assert f["time_week"] > 2000 and 0 <= f["time_week_ms"] < 604_800_000
    assert f["horiz_accuracy"] == pytest.approx(2.0)  # major axis of the ellipse, not the mean
    assert f["lat"] == 504500000 and f["lon"] == 305200000
    for name in ("hdop", "vdop", "horiz_accuracy", "vert_accuracy", "speed_accuracy"):
        assert f[name] > 0


def test_tiny_covariance_is_floored_never_zero() -> None:
    f = encode.gps_input_fields(_out(cov_nn=1e-9, cov_ee=1e-9), send_unix_ns=1_767_225_600_000_000_000, age_ns=0,
                                cfg=CFG)
    assert f["horiz_accuracy"] == CFG.min_horiz_accuracy_m
    assert f["hdop"] > 0 and f["speed_accuracy"] >= CFG.min_speed_accuracy_m_s


@pytest.mark.parametrize(("health", "age_s", "fix"), [
    (OutputHealth.OK, 0.1, 3), (OutputHealth.DEGRADED, 0.1, 2), (OutputHealth.LOST, 0.1, 1), (OutputHealth.OK, 5.0, 1),
])
def test_fix_type_is_honest(health: OutputHealth, age_s: float, fix: int) -> None:
    assert encode.fix_type_for(_out(health=health), int(age_s * 1e9), CFG) == fix
    f = encode.gps_input_fields(_out(health=health), send_unix_ns=1_767_225_600_000_000_000, age_ns=int(age_s * 1e9),
                                cfg=CFG)
    assert f["fix_type"] == fix
    assert (f["satellites_visible"] > 0) == (fix == 3)


def test_global_position_sensor_flags_and_accuracy() -> None:
    ok = encode.global_position_sensor_fields(_out(), time_usec=5, processing_us=80_000, age_ns=0, cfg=CFG)
    bad = encode.global_position_sensor_fields(_out(health=OutputHealth.LOST), time_usec=5, processing_us=1, age_ns=0,
                                               cfg=CFG)
    assert ok["flags"] == encode.GLOBAL_POSITION_PRIMARY and bad["flags"] == encode.GLOBAL_POSITION_UNHEALTHY
    assert ok["eph"] == pytest.approx(2.0) and ok["source"] == encode.GLOBAL_POSITION_SRC_VISION
    assert math.isnan(ok["alt_ellipsoid"]) and ok["processing_time"] == 80_000


def test_odometry_covariance_layout() -> None:
    f = encode.odometry_fields(_out(cov_ne=0.5), ned_m=(1.0, 2.0, -3.0), time_usec=1, age_ns=0, cfg=CFG)
    assert f["pose_covariance"][0] == 4.0 and f["pose_covariance"][1] == 0.5 and f["pose_covariance"][6] == 1.0
    assert math.isnan(f["q"][0]) and (f["x"], f["y"], f["z"]) == (1.0, 2.0, -3.0)
    assert f["quality"] == 100


@pytest.mark.parametrize("bad", [
    {"lat_deg": math.nan}, {"vn": math.inf}, {"cov_nn": 0.0}, {"cov_ne": 5.0}, {"lat_deg": 91.0},
    {"vert_sigma_m": -1.0},
])
def test_position_output_rejects_unsendable_values(bad: dict[str, float]) -> None:
    with pytest.raises(FcLinkValueError):
        _out(**bad)
