"""C7's public messages: registration configuration and result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class RegistrationConfig:
    """Tuning of frame-to-map registration (defaults are the production defaults)."""

    max_ortho_side_px: int = 320       # ortho template size cap (time budget)
    min_search_radius_px: int = 10
    max_search_radius_px: int = 128    # wider searches are C6's job
    block_grid: tuple[int, int] = (4, 3)  # blocks across x down, for the pose solve
    block_search_px: int = 5           # block refinement radius around the global peak
    attitude_sigma_rad: float = 0.0105  # telemetry roll/pitch prior (0.6 degrees)
    yaw_sigma_rad: float = 0.05        # telemetry heading prior (about 3 degrees: magnetometers)
    pose_solve: bool = True            # False: trust telemetry attitude (translation only)
    height_sigma_frac: float = 0.03    # altimeter prior, fraction of height
    map_floor_px: float = 1.0          # georeference / cross-date misregistration floor (map px)
    map_floor_m: float = 1.0           # ... and in metres: no real map's absolute georeference is finer
    min_block_weight: float = 0.12     # blocks flatter than this (mean orientation weight) are skipped
    covariance_inflation: float = 1.5  # sigma multiplier for what the model does not capture
    min_coverage: float = 0.4          # fraction of the frame's expected footprint the map must cover
    # A pose solve whose rotation leaves the telemetry by more than this (chi-square, 3 dof,
    # in units of the attitude priors) is taken to explain block deformation as tilt: the
    # position falls back to translation only (telemetry attitude trusted), the gate
    # statistics stay the solve's. Off (inf) by default: at 11.34 (99 %) the 48 s flights
    # gain (levir_test_1 fused CEP50 5.05 -> 4.01 px, CEP95 pooled 6.02 -> 5.66 px, 3-sigma
    # coverage >= 99 % on every run) but levir_test_1's 12 s flight loses CEP95
    # (5.38 -> 7.23 px) and levir_test_2's 48 s one CEP50 (5.74 -> 9.55 px)
    max_attitude_departure_chi2: float = math.inf

    def __post_init__(self) -> None:
        if self.max_ortho_side_px < 32:
            raise ValueError(f"max_ortho_side_px must be >= 32, got {self.max_ortho_side_px}")
        if not 0 < self.min_search_radius_px <= self.max_search_radius_px:
            raise ValueError("need 0 < min_search_radius_px <= max_search_radius_px")
        if self.attitude_sigma_rad <= 0 or self.height_sigma_frac <= 0:
            raise ValueError("attitude_sigma_rad and height_sigma_frac must be > 0")


@dataclass(frozen=True)
class RegistrationResult:
    """What one registration attempt found. `ok` False means no position came out
    (`reason` says why); a position with `ok` True is still only a *candidate*
    until integrity (C9) accepts it.

    Positions are of the body origin in the map's ENU frame; `cov_ne` is the 2x2
    covariance over (north, east) in m^2.
    """

    ok: bool
    reason: str
    frame_ts_ns: int
    east_m: float = float("nan")
    north_m: float = float("nan")
    cov_ne: npt.NDArray[np.float64] = field(default_factory=lambda: np.full((2, 2), np.nan))
    score: float = 0.0             # global correlation peak (normalised)
    distinctiveness: float = 0.0   # (peak - second peak) / peak
    texture: float = 0.0           # mean orientation weight of the frame's ortho
    coverage: float = 0.0          # fraction of the expected footprint the map covers
    n_blocks: int = 0
    n_inliers: int = 0
    rms_residual_px: float = float("nan")
    chi2_dof: float = float("nan")
    gsd_m: float = float("nan")
    search_radius_px: int = 0
    refined_attitude: tuple[float, float, float] | None = None  # roll, pitch, yaw of the body (rad)
    height_agl_m: float = float("nan")
    # (east, north, score) of the body origin at the best local maxima of the global
    # correlation, best first, translation only; filled when `register(candidates=k)` asks
    peak_candidates: tuple[tuple[float, float, float], ...] = ()
