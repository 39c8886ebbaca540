"""The error that the fixes of one ground share, added to the covariance the filter reports.

Frames that see the same ground are registered against the same map patch, so their
fixes carry one cross-date error (the two dates' local misregistration, a deformation
the pose solve reads as tilt): repeated fixes of that ground do not average it out.
Single frames' claims for that one error also vary (on cross-date pairs 1.7 to 6.4 m
for a 10 m error), and the filter's own floor (`FilterConfig.correlated_fraction`
times the last fix's claim) rests on whichever frame came last.

This module keeps the accepted fixes and reports, for the ground of the latest one,
`correlated_fraction` times the mean claim of the fixes of that ground. The pipeline
adds the deficit to the covariance it *publishes*; the filter's state, gains, gates and
search windows are untouched. That is a consider covariance: the estimate is the one
the filter makes, its reported uncertainty includes the error the filter cannot see.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c5_state.covariance import check_cov_2x2, deficit_to_floor
from gps_denied_onboard.components.c5_state.errors import MeasurementError

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SharedErrorConfig:
    """What counts as one ground, and how much of a fix's claim is shared by its ground."""

    correlated_fraction: float = 0.7   # share of a fix's covariance that its ground's fixes share
    same_ground_fraction: float = 0.5  # fixes whose centres lie within this share of the footprint side
    memory_s: float = 60.0             # fixes older than this are forgotten

    def __post_init__(self) -> None:
        if not 0.0 <= self.correlated_fraction < 1.0:
            raise ValueError(f"correlated_fraction must be in [0, 1), got {self.correlated_fraction}")
        if not self.same_ground_fraction > 0 or not self.memory_s > 0:
            raise ValueError("same_ground_fraction and memory_s must be > 0, got "
                             f"{self.same_ground_fraction}, {self.memory_s}")


@dataclass(frozen=True)
class _Fix:
    t_ns: int
    ne: F64
    cov: F64


class SharedGroundError:
    """Accepted fixes in, the shared-error floor of the latest fix's ground out."""

    def __init__(self, config: SharedErrorConfig | None = None) -> None:
        self.config = config or SharedErrorConfig()
        self._fixes: deque[_Fix] = deque()
        self._floor: F64 | None = None

    def add_fix(self, t_ns: int, north_m: float, east_m: float, cov_ne: F64, footprint_side_m: float) -> None:
        """An accepted fix: its position, claimed covariance and the side of its ground footprint."""
        check_cov_2x2(cov_ne, "cov_ne", t_ns)
        cov = np.asarray(cov_ne, np.float64)
        if not (math.isfinite(north_m) and math.isfinite(east_m)):
            raise MeasurementError("position", (north_m, east_m), "finite metres", t_ns)
        if not (math.isfinite(footprint_side_m) and footprint_side_m > 0):
            raise MeasurementError("footprint_side_m", footprint_side_m, "a finite positive side (m)", t_ns)
        fix = _Fix(int(t_ns), np.array([north_m, east_m], np.float64), cov)
        radius_m = self.config.same_ground_fraction * float(footprint_side_m)
        horizon = fix.t_ns - int(self.config.memory_s * 1e9)
        while self._fixes and self._fixes[0].t_ns < horizon:
            self._fixes.popleft()
        self._fixes.append(fix)
        same = [f.cov for f in self._fixes if float(np.hypot(*(f.ne - fix.ne))) <= radius_m]
        self._floor = self.config.correlated_fraction * np.mean(same, axis=0)

    @property
    def floor(self) -> F64 | None:
        """The shared-error covariance of the latest fix's ground (None before any fix)."""
        return None if self._floor is None else self._floor.copy()

    def reported(self, cov_ne: F64) -> F64:
        """`cov_ne` raised, along each direction where it is smaller, to the floor."""
        if self._floor is None:
            return np.asarray(cov_ne, np.float64)
        c = np.asarray(cov_ne, np.float64)
        out = c + deficit_to_floor(c, self._floor)
        return 0.5 * (out + out.T)
