"""C2's public data types: what the link hands to the pipeline (telemetry) and what
the pipeline hands to the link (a position to send).

Every measurement carries its capture time in ns on this process's monotonic clock
(the flight clock); autopilot timestamps are converted with the estimated clock
offset (TIMESYNC / SYSTEM_TIME) when one is known.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from gps_denied_onboard.components.c2_fc_link.errors import FcLinkValueError


class LandedState(enum.StrEnum):
    """MAV_LANDED_STATE, as the autopilot reports it in EXTENDED_SYS_STATE."""

    UNKNOWN = "unknown"
    ON_GROUND = "on_ground"
    IN_AIR = "in_air"
    TAKEOFF = "takeoff"
    LANDING = "landing"

    @classmethod
    def from_mavlink(cls, value: int) -> LandedState:
        return _LANDED_FROM_MAV.get(int(value), cls.UNKNOWN)


_LANDED_FROM_MAV = {
    0: LandedState.UNKNOWN,
    1: LandedState.ON_GROUND,
    2: LandedState.IN_AIR,
    3: LandedState.TAKEOFF,
    4: LandedState.LANDING,
}


class OutputHealth(enum.StrEnum):
    """How much the autopilot may trust a position; decides `fix_type`."""

    OK = "ok"  # 3D fix
    DEGRADED = "degraded"  # 2D fix: the EKF3/EKF2 will not fuse it as a 3D GNSS
    LOST = "lost"  # no fix


@dataclass(frozen=True, slots=True)
class TimedValue:
    """A telemetry value with its capture time (ns, flight clock) and receipt time."""

    capture_ns: int
    receipt_ns: int


@dataclass(frozen=True, slots=True)
class AttitudeSample(TimedValue):
    roll_rad: float
    pitch_rad: float
    yaw_rad: float


@dataclass(frozen=True, slots=True)
class AltitudeSample(TimedValue):
    """Altitude from one source: `source` is relative (GLOBAL_POSITION_INT relative_alt,
    above home), msl (GLOBAL_POSITION_INT alt), baro (VFR_HUD alt / pressure),
    or range (DISTANCE_SENSOR, above the ground)."""

    source: str
    alt_m: float


@dataclass(frozen=True, slots=True)
class ImuSample(TimedValue):
    accel_mps2: tuple[float, float, float]
    gyro_rps: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class PressureSample(TimedValue):
    press_abs_hpa: float
    temperature_c: float


@dataclass(frozen=True)
class TelemetrySnapshot:
    """The latest valid value of each telemetry stream (None until first seen).

    `landed_state` feeds the operator's flight-state gate; `link_up` is False when
    nothing valid came from the autopilot for `fc_link.link_timeout_s`.
    """

    taken_ns: int
    link_up: bool
    autopilot_type: int | None = None
    vehicle_type: int | None = None
    system_status: int | None = None
    armed: bool | None = None
    last_heartbeat_ns: int | None = None
    attitude: AttitudeSample | None = None
    altitudes: dict[str, AltitudeSample] = field(default_factory=dict)
    imu: ImuSample | None = None
    pressure: PressureSample | None = None
    landed_state: LandedState = LandedState.UNKNOWN
    # The raw MAV_LANDED_STATE code and its receipt time (ns, flight clock): what the
    # operator's flight-state gate (c11 LandedStateSnapshot) is built from.
    landed_state_code: int | None = None
    landed_state_ns: int | None = None
    fc_unix_offset_ns: int | None = None
    clock_offset_ns: int | None = None
    clock_offset_rtt_ns: int | None = None


@dataclass(frozen=True, slots=True)
class PositionOutput:
    """A fused position predicted to `valid_ns` (flight clock), from measurements
    captured at `capture_ns` (the oldest capture it depends on). `cov_*` are the
    horizontal covariance in m² (north, east); velocity is NED in m/s."""

    valid_ns: int
    capture_ns: int
    lat_deg: float
    lon_deg: float
    alt_msl_m: float
    vn: float
    ve: float
    vd: float
    cov_nn: float
    cov_ne: float
    cov_ee: float
    health: OutputHealth
    vert_sigma_m: float | None = None
    speed_sigma_m_s: float | None = None
    source: str = "fix"

    def __post_init__(self) -> None:
        finite = ("lat_deg", "lon_deg", "alt_msl_m", "vn", "ve", "vd", "cov_nn", "cov_ne", "cov_ee")
        for name in finite:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise FcLinkValueError(f"PositionOutput.{name} must be finite, got {value!r}")
        if not -90.0 <= self.lat_deg <= 90.0 or not -180.0 <= self.lon_deg <= 180.0:
            raise FcLinkValueError(f"PositionOutput lat/lon out of range: {self.lat_deg}, {self.lon_deg}")
        if self.cov_nn <= 0 or self.cov_ee <= 0 or self.cov_nn * self.cov_ee - self.cov_ne**2 <= 0:
            raise FcLinkValueError(
                f"PositionOutput covariance must be positive definite, got {(self.cov_nn, self.cov_ne, self.cov_ee)}"
            )
        for name in ("vert_sigma_m", "speed_sigma_m_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise FcLinkValueError(f"PositionOutput.{name} must be > 0 and finite, got {value!r}")

    @property
    def horiz_sigma_m(self) -> float:
        """1-sigma of the error ellipse's major axis (conservative horizontal accuracy)."""
        half_trace = 0.5 * (self.cov_nn + self.cov_ee)
        root = math.sqrt(max(0.0, 0.25 * (self.cov_nn - self.cov_ee) ** 2 + self.cov_ne**2))
        return math.sqrt(half_trace + root)


@dataclass(frozen=True)
class SendReport:
    """What one `send_position` put on the wire."""

    sent_ns: int
    messages: tuple[str, ...]
    fix_type: int
    latency_ns: int  # capture -> send
    horiz_accuracy_m: float


@dataclass(frozen=True)
class LinkStats:
    """Counters since the link started (monotonic; never reset)."""

    bytes_in: int = 0
    messages_in: int = 0
    bad_messages: int = 0  # CRC / framing / unknown id
    rejected_values: int = 0  # decoded but invalid (NaN attitude, absurd altitude, ...)
    messages_out: int = 0
    send_errors: int = 0
    link_drops: int = 0
    link_returns: int = 0
