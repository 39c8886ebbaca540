"""C5's public messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c5_state.covariance import major_axis_sigma


@dataclass(frozen=True)
class FilterConfig:
    """Noise model of the horizontal filter (production defaults)."""

    accel_noise_mps2: float = 1.5          # white-acceleration spectral density (random manoeuvres)
    initial_velocity_sigma_mps: float = 10.0
    gate_chi2: float = 13.8                # Mahalanobis gate, chi2(2 dof) at 99.9 %
    history_s: float = 3.0                 # how far back a delayed measurement may reach
    max_position_sigma_m: float = 1e5      # covariance growth is capped here (numerical hygiene)
    correlated_fraction: float = 0.0       # share of a fix's covariance that is time-correlated (floor)

    def __post_init__(self) -> None:
        if self.accel_noise_mps2 <= 0 or self.gate_chi2 <= 0 or self.history_s <= 0:
            raise ValueError("accel_noise_mps2, gate_chi2 and history_s must be > 0")
        if not 0.0 <= self.correlated_fraction < 1.0:
            raise ValueError(f"correlated_fraction must be in [0, 1), got {self.correlated_fraction}")


@dataclass(frozen=True)
class FilterEstimate:
    """The filter's state at `timestamp_ns`: position (north, east) in the local ENU
    frame's metres, velocity (vn, ve) and the 4x4 covariance over (n, e, vn, ve)."""

    timestamp_ns: int
    north_m: float
    east_m: float
    vn_mps: float
    ve_mps: float
    covariance: npt.NDArray[np.float64]

    @property
    def cov_ne(self) -> npt.NDArray[np.float64]:
        return self.covariance[:2, :2]

    @property
    def position_sigma_m(self) -> float:
        """Major-axis 1-sigma of the horizontal position."""
        return major_axis_sigma(self.cov_ne)


@dataclass(frozen=True)
class UpdateOutcome:
    """Whether a measurement was fused and its Mahalanobis distance squared."""

    accepted: bool
    mahalanobis2: float
    reason: str = ""
