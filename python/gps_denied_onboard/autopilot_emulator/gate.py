"""What the emulated autopilot checks on each position message: field validity and
an EKF-style innovation gate against the truth, like ArduPilot's EKF3.

EKF3 fuses a GPS position only when its test ratio
    (innov_N² + innov_E²) / (gate² · (var_N + var_E)) ≤ 1
where var = max(reported accuracy, EK3_POSNE_M_NSE)² + the filter's own position
variance, and gate = EK3_POS_I_GATE / 100 (default 5 sigma); the velocity test is
the same over three axes with EK3_VEL_I_GATE and the reported speed accuracy.
The emulator plays the filter with the truth as its prediction, so a message is
accepted exactly when its error is consistent with the accuracy it claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_378_137.0


@dataclass(frozen=True)
class GateConfig:
    pos_gate_sigma: float = 5.0  # EK3_POS_I_GATE = 500
    vel_gate_sigma: float = 5.0  # EK3_VEL_I_GATE = 500
    pos_noise_floor_m: float = 0.5  # EK3_POSNE_M_NSE
    vel_noise_floor_m_s: float = 0.3  # EK3_VELNE_M_NSE
    state_pos_var_m2: float = 1.0  # the filter's own position uncertainty when GPS-aided
    state_vel_var_m2s2: float = 0.25
    max_delay_s: float = 0.3  # EKF2_AGP_DELAY / GPS delay cap
    max_future_s: float = 0.05  # a stamp this far after receipt is a clock error


@dataclass(frozen=True, slots=True)
class Truth:
    lat_deg: float
    lon_deg: float
    alt_m: float
    vn: float
    ve: float
    vd: float


@dataclass(frozen=True, slots=True)
class GateResult:
    accepted: bool
    pos_ratio: float
    vel_ratio: float | None
    error_n_m: float
    error_e_m: float
    error_h_m: float
    reason: str = ""


def ne_error_m(lat_deg: float, lon_deg: float, truth_lat: float, truth_lon: float) -> tuple[float, float]:
    """North/east metres from truth to the reported position (local flat-earth; exact
    to mm over the few-hundred-metre errors a gate ever sees)."""
    dn = math.radians(lat_deg - truth_lat) * EARTH_RADIUS_M
    de = math.radians(lon_deg - truth_lon) * EARTH_RADIUS_M * math.cos(math.radians(truth_lat))
    return dn, de


def field_problems(fields: dict[str, float], fix_type: int) -> list[str]:
    """Invalid values in a GPS_INPUT-like message (empty when all is well)."""
    problems: list[str] = []
    for name in ("alt", "vn", "ve", "vd", "hdop", "vdop", "horiz_accuracy", "vert_accuracy", "speed_accuracy"):
        value = fields.get(name)
        if value is None or not math.isfinite(value):
            problems.append(f"{name} not finite")
    lat, lon = fields.get("lat_deg", math.nan), fields.get("lon_deg", math.nan)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        problems.append("lat/lon out of range")
    if fix_type >= 3:
        for name in ("hdop", "vdop", "horiz_accuracy", "vert_accuracy", "speed_accuracy"):
            value = fields.get(name, 0.0)
            if math.isfinite(value) and value <= 0:
                problems.append(f"{name} is zero (reads as a perfect measurement)")
        if fields.get("time_week", 0) <= 0:
            problems.append("time_week not filled (jitter correction disabled)")
        if lat == 0 and lon == 0:
            problems.append("3D fix at 0,0")
    return problems


def innovation_gate(
    *,
    lat_deg: float,
    lon_deg: float,
    vel_ned: tuple[float, float, float] | None,
    horiz_accuracy_m: float,
    speed_accuracy_m_s: float | None,
    truth: Truth,
    cfg: GateConfig,
) -> GateResult:
    """EKF3-style position (and velocity, when given) innovation test against the truth."""
    dn, de = ne_error_m(lat_deg, lon_deg, truth.lat_deg, truth.lon_deg)
    var = max(horiz_accuracy_m, cfg.pos_noise_floor_m) ** 2 + cfg.state_pos_var_m2
    pos_ratio = (dn * dn + de * de) / (cfg.pos_gate_sigma**2 * 2.0 * var)
    vel_ratio: float | None = None
    reasons: list[str] = []
    if pos_ratio > 1.0:
        reasons.append(f"position innovation {math.hypot(dn, de):.1f} m vs claimed {horiz_accuracy_m:.1f} m")
    if vel_ned is not None and speed_accuracy_m_s is not None:
        dv = (vel_ned[0] - truth.vn, vel_ned[1] - truth.ve, vel_ned[2] - truth.vd)
        vvar = max(speed_accuracy_m_s, cfg.vel_noise_floor_m_s) ** 2 + cfg.state_vel_var_m2s2
        vel_ratio = sum(d * d for d in dv) / (cfg.vel_gate_sigma**2 * 3.0 * vvar)
        if vel_ratio > 1.0:
            reasons.append(f"velocity innovation {math.sqrt(sum(d * d for d in dv)):.1f} m/s vs claimed "
                           f"{speed_accuracy_m_s:.1f} m/s")
    return GateResult(not reasons, pos_ratio, vel_ratio, dn, de, math.hypot(dn, de), "; ".join(reasons))
