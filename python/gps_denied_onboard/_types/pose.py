"""Attitude and absolute position fixes with covariance."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gps_denied_onboard._types.errors import GeoValueError
from gps_denied_onboard._types.geo import LatLonAlt


@dataclass(frozen=True, slots=True)
class Attitude:
    """Body (FRD) relative to local NED as ZYX Euler angles in radians, exactly as
    MAVLink ATTITUDE: yaw first, then pitch, then roll."""

    roll_rad: float
    pitch_rad: float
    yaw_rad: float

    def __post_init__(self) -> None:
        for name in ("roll_rad", "pitch_rad", "yaw_rad"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise GeoValueError(name, value, "a finite angle in radians")


@dataclass(frozen=True, slots=True)
class Covariance2:
    """Horizontal position covariance in m² over (north, east)."""

    nn: float
    ne: float
    ee: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.nn) and math.isfinite(self.ne) and math.isfinite(self.ee)):
            raise GeoValueError("covariance", (self.nn, self.ne, self.ee), "finite entries")
        if self.nn <= 0.0 or self.ee <= 0.0 or self.nn * self.ee - self.ne * self.ne <= 0.0:
            raise GeoValueError("covariance", (self.nn, self.ne, self.ee), "a positive-definite 2x2 matrix")

    @property
    def major_sigma_m(self) -> float:
        """1-sigma length of the error ellipse's major axis, in metres."""
        half_trace = 0.5 * (self.nn + self.ee)
        root = math.sqrt(max(0.0, 0.25 * (self.nn - self.ee) ** 2 + self.ne**2))
        return math.sqrt(half_trace + root)

    @property
    def drms_m(self) -> float:
        """Distance RMS (sqrt of the trace), in metres."""
        return math.sqrt(self.nn + self.ee)


@dataclass(frozen=True, slots=True)
class PositionFix:
    """An absolute position with its horizontal covariance, stamped with the capture
    time of the measurement it came from (ns on the flight's monotonic clock)."""

    timestamp_ns: int
    position: LatLonAlt
    covariance: Covariance2
