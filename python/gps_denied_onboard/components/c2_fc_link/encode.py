"""Position -> MAVLink field values, as pure functions (tested without a link).

ArduPilot (GPS_INPUT, `GPS1_TYPE=14`): velocity is always filled (EKF3 uses it even
when told to ignore it), accuracies come from the covariance with floors (a 0
accuracy reads as a perfect measurement), `fix_type` follows the output's health,
and GPS week / time-of-week are filled (AP's jitter correction needs
`fix_type >= 3` and `time_week > 0`).
PX4: GLOBAL_POSITION_SENSOR (auxiliary global position) and ODOMETRY in a local
NED frame anchored at an origin announced with SET_GPS_GLOBAL_ORIGIN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gps_denied_onboard.components.c2_fc_link.interface import OutputHealth, PositionOutput
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig

# GPS time = UTC + leap seconds, counted from 1980-01-06.
GPS_EPOCH_UNIX_S = 315_964_800
GPS_LEAP_SECONDS = 18
WEEK_S = 604_800

GPS_FIX_TYPE_NO_FIX = 1
GPS_FIX_TYPE_2D = 2
GPS_FIX_TYPE_3D = 3

GLOBAL_POSITION_SRC_VISION = 2
GLOBAL_POSITION_UNHEALTHY = 1
GLOBAL_POSITION_PRIMARY = 2
MAV_FRAME_LOCAL_NED = 1
MAV_ESTIMATOR_TYPE_VIO = 3


@dataclass(frozen=True, slots=True)
class Accuracies:
    horiz_m: float
    vert_m: float
    speed_m_s: float
    hdop: float
    vdop: float


def gps_week_time(unix_ns: int) -> tuple[int, int]:
    """(GPS week, milliseconds of the week) for a UTC time in ns since the Unix epoch."""
    gps_ms = (unix_ns // 1_000_000) - GPS_EPOCH_UNIX_S * 1000 + GPS_LEAP_SECONDS * 1000
    if gps_ms < 0:
        raise ValueError(f"time {unix_ns} ns is before the GPS epoch")
    week, week_ms = divmod(gps_ms, WEEK_S * 1000)
    return int(week), int(week_ms)


def unix_ns_from_gps(week: int, week_ms: int) -> int:
    """Inverse of `gps_week_time` (to the millisecond)."""
    return ((week * WEEK_S * 1000 + week_ms) - GPS_LEAP_SECONDS * 1000 + GPS_EPOCH_UNIX_S * 1000) * 1_000_000


def accuracies(out: PositionOutput, cfg: FcLinkConfig) -> Accuracies:
    """1-sigma accuracies and DOPs from the output's covariance, floored, never 0."""
    horiz = max(out.horiz_sigma_m, cfg.min_horiz_accuracy_m)
    vert = max(out.vert_sigma_m if out.vert_sigma_m is not None else cfg.default_vert_sigma_m, cfg.min_vert_accuracy_m)
    speed = max(
        out.speed_sigma_m_s if out.speed_sigma_m_s is not None else cfg.default_speed_sigma_m_s,
        cfg.min_speed_accuracy_m_s,
    )
    # DOPs are unitless: accuracy over a nominal range error; clamped to the field's useful range.
    hdop = min(max(horiz / cfg.dop_uere_m, 0.01), 99.0)
    vdop = min(max(vert / cfg.dop_uere_m, 0.01), 99.0)
    return Accuracies(horiz, vert, speed, hdop, vdop)


def fix_type_for(out: PositionOutput, age_ns: int, cfg: FcLinkConfig) -> int:
    """3D only when healthy and fresh; 2D when degraded; NO_FIX when lost or stale."""
    if out.health is OutputHealth.LOST or age_ns > cfg.max_output_age_s * 1e9:
        return GPS_FIX_TYPE_NO_FIX
    if out.health is OutputHealth.DEGRADED:
        return GPS_FIX_TYPE_2D
    return GPS_FIX_TYPE_3D


def gps_input_fields(out: PositionOutput, *, send_unix_ns: int, age_ns: int, cfg: FcLinkConfig) -> dict[str, Any]:
    """GPS_INPUT (232) keyword arguments for `MAVLink.gps_input_encode`.

    `send_unix_ns` is the UTC time the position is valid at (it was predicted to the
    send time), which is what a GNSS receiver's time-of-week means.
    """
    acc = accuracies(out, cfg)
    fix = fix_type_for(out, age_ns, cfg)
    week, week_ms = gps_week_time(send_unix_ns)
    return {
        "time_usec": send_unix_ns // 1000,
        "gps_id": cfg.gps_id,
        "ignore_flags": 0,  # every field is real, velocity included
        "time_week_ms": week_ms,
        "time_week": week,
        "fix_type": fix,
        "lat": int(round(out.lat_deg * 1e7)),
        "lon": int(round(out.lon_deg * 1e7)),
        "alt": float(out.alt_msl_m),
        "hdop": acc.hdop,
        "vdop": acc.vdop,
        "vn": float(out.vn),
        "ve": float(out.ve),
        "vd": float(out.vd),
        "speed_accuracy": acc.speed_m_s,
        "horiz_accuracy": acc.horiz_m,
        "vert_accuracy": acc.vert_m,
        "satellites_visible": cfg.satellites_when_fixed if fix >= GPS_FIX_TYPE_3D else 0,
        "yaw": 0,  # not available
    }


def global_position_sensor_fields(
    out: PositionOutput, *, time_usec: int, processing_us: int, age_ns: int, cfg: FcLinkConfig
) -> dict[str, Any]:
    """GLOBAL_POSITION_SENSOR (296) for PX4's auxiliary global position (EKF2_AGP_*)."""
    acc = accuracies(out, cfg)
    healthy = fix_type_for(out, age_ns, cfg) >= GPS_FIX_TYPE_3D
    return {
        "target_system": cfg.target_system,
        "target_component": cfg.target_component,
        "id": cfg.gps_id,
        "time_usec": time_usec,
        "processing_time": max(0, min(processing_us, 0xFFFFFFFF)),
        "source": GLOBAL_POSITION_SRC_VISION,
        "flags": GLOBAL_POSITION_PRIMARY if healthy else GLOBAL_POSITION_UNHEALTHY,
        "lat": int(round(out.lat_deg * 1e7)),
        "lon": int(round(out.lon_deg * 1e7)),
        "alt_ellipsoid": math.nan,  # not known: the project uses MSL
        "alt": float(out.alt_msl_m),
        "eph": acc.horiz_m,
        "epv": acc.vert_m,
    }


def odometry_fields(
    out: PositionOutput, *, ned_m: tuple[float, float, float], time_usec: int, age_ns: int, cfg: FcLinkConfig
) -> dict[str, Any]:
    """ODOMETRY (331) in LOCAL_NED relative to the announced origin; orientation
    unknown (q[0] = NaN), velocity in the same NED frame."""
    acc = accuracies(out, cfg)
    nan = math.nan
    pose_cov = [nan] * 21  # upper triangle of the 6x6 (x, y, z, roll, pitch, yaw)
    pose_cov[0] = float(out.cov_nn)
    pose_cov[1] = float(out.cov_ne)
    pose_cov[2] = 0.0
    pose_cov[6] = float(out.cov_ee)
    pose_cov[7] = 0.0
    pose_cov[11] = acc.vert_m**2
    vel_cov = [nan] * 21
    vel_cov[0] = vel_cov[6] = vel_cov[11] = acc.speed_m_s**2
    vel_cov[1] = vel_cov[2] = vel_cov[7] = 0.0
    fix = fix_type_for(out, age_ns, cfg)
    return {
        "time_usec": time_usec,
        "frame_id": MAV_FRAME_LOCAL_NED,
        "child_frame_id": MAV_FRAME_LOCAL_NED,
        "x": ned_m[0],
        "y": ned_m[1],
        "z": ned_m[2],
        "q": [nan, 0.0, 0.0, 0.0],
        "vx": float(out.vn),
        "vy": float(out.ve),
        "vz": float(out.vd),
        "rollspeed": nan,
        "pitchspeed": nan,
        "yawspeed": nan,
        "pose_covariance": pose_cov,
        "velocity_covariance": vel_cov,
        "reset_counter": 0,
        "estimator_type": MAV_ESTIMATOR_TYPE_VIO,
        "quality": 100 if fix >= GPS_FIX_TYPE_3D else (50 if fix == GPS_FIX_TYPE_2D else 0),
    }
