"""C3's public messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class VoConfig:
    template_fraction: float = 0.6      # central part of the new ortho searched in the previous one
    min_distinctiveness: float = 0.15
    min_score: float = 0.15
    attitude_rate_sigma_rad: float = 0.003  # unmodelled attitude change between frames
    max_gap_s: float = 2.5               # older previous frames are not used (motion too large)

    def __post_init__(self) -> None:
        if not 0.2 <= self.template_fraction <= 0.9:
            raise ValueError(f"template_fraction must be in [0.2, 0.9], got {self.template_fraction}")


@dataclass(frozen=True)
class VoMeasurement:
    """Ground displacement of the camera between two frames (metres, north/east), the
    velocity it implies, and their covariances (m^2, (m/s)^2)."""

    t_prev_ns: int
    t_ns: int
    d_north_m: float
    d_east_m: float
    cov_d: npt.NDArray[np.float64]
    score: float
    distinctiveness: float

    @property
    def dt_s(self) -> float:
        return (self.t_ns - self.t_prev_ns) * 1e-9

    @property
    def velocity(self) -> tuple[float, float]:
        return self.d_north_m / self.dt_s, self.d_east_m / self.dt_s

    @property
    def cov_velocity(self) -> npt.NDArray[np.float64]:
        return self.cov_d / self.dt_s**2
