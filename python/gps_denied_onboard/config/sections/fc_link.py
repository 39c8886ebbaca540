"""`fc_link:` — the MAVLink link to the flight controller (C2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FcLinkConfig:
    # udpin:HOST:PORT (listen, reply to the last sender), udpout:HOST:PORT (send to),
    # serial:/dev/ttyTHS1:921600.
    url: str = "serial:/dev/ttyTHS1:921600"
    autopilot: Literal["ardupilot", "px4"] = "ardupilot"
    # ArduPilot: gps_input. PX4: global_position_sensor (AGP) and/or odometry.
    outputs: tuple[str, ...] = ("gps_input",)
    # Position messages per second (ArduPilot flags the GPS unhealthy beyond ~245 ms gaps).
    output_rate_hz: float = 10.0
    source_system: int = 1
    source_component: int = 191  # MAV_COMP_ID_ONBOARD_COMPUTER
    target_system: int = 1
    target_component: int = 1
    gps_id: int = 0
    heartbeat_rate_hz: float = 1.0
    timesync_rate_hz: float = 1.0
    # No message from the autopilot for this long: the link is reported down.
    link_timeout_s: float = 2.0
    # Floors of the accuracy fields: never 0 (EKF3 takes 0 as a perfect measurement).
    min_horiz_accuracy_m: float = 0.5
    min_vert_accuracy_m: float = 1.0
    min_speed_accuracy_m_s: float = 0.2
    # Used when the estimator gives no vertical / speed uncertainty.
    default_vert_sigma_m: float = 3.0
    default_speed_sigma_m_s: float = 0.5
    # DOP = 1-sigma accuracy / this nominal range error (ArduPilot's GPS_HDOP_GOOD is 1.4).
    dop_uere_m: float = 3.0
    # Reported with a 3D fix so the autopilot's satellite-count check passes; 0 otherwise.
    satellites_when_fixed: int = 10
    # Oldest a position may be (capture -> send) before fix_type drops to NO_FIX.
    max_output_age_s: float = 2.0
    # MAV_CMD_EXTERNAL_POSITION_ESTIMATE (one-off reset): sent on request (SIGUSR1) at the
    # first healthy output, and, when > 0, automatically at the first healthy output after
    # the output was lost for at least this long. 0 = on request only.
    reset_after_lost_s: float = 0.0
    # A request with no healthy output for this long expires (reported, nothing sent).
    reset_request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        allowed = {"gps_input", "global_position_sensor", "odometry"}
        if not self.outputs or any(o not in allowed for o in self.outputs):
            raise ValueError(f"fc_link.outputs must be a non-empty list of {sorted(allowed)}, got {list(self.outputs)}")
        if not 5.0 <= self.output_rate_hz <= 50.0:
            raise ValueError(f"fc_link.output_rate_hz must be in [5, 50], got {self.output_rate_hz}")
        for name in ("source_system", "source_component", "target_system", "target_component"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"fc_link.{name} must be in [0, 255], got {getattr(self, name)}")
        for name in ("heartbeat_rate_hz", "timesync_rate_hz", "link_timeout_s", "min_horiz_accuracy_m",
                     "min_vert_accuracy_m", "min_speed_accuracy_m_s", "default_vert_sigma_m",
                     "default_speed_sigma_m_s", "dop_uere_m", "max_output_age_s", "reset_request_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"fc_link.{name} must be > 0, got {getattr(self, name)}")
        if not (self.reset_after_lost_s >= 0 and math.isfinite(self.reset_after_lost_s)):
            raise ValueError(f"fc_link.reset_after_lost_s must be >= 0 (0 = off), got {self.reset_after_lost_s}")
        if not 0 <= self.gps_id <= 255:
            raise ValueError(f"fc_link.gps_id must be in [0, 255], got {self.gps_id}")
        if not 0 <= self.satellites_when_fixed <= 255:
            raise ValueError(f"fc_link.satellites_when_fixed must be in [0, 255], got {self.satellites_when_fixed}")
        if self.url.split(":", 1)[0] not in ("udpin", "udpout", "serial"):
            raise ValueError(f"fc_link.url must start with udpin:, udpout: or serial:, got {self.url!r}")
