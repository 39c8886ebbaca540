"""`localization:` — the airborne localization core (C3, C5, C6, C7, C9)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalizationConfig:
    attitude_sigma_deg: float = 0.6          # autopilot roll/pitch accuracy (prior of the pose solve)
    yaw_sigma_deg: float = 3.0               # autopilot heading accuracy (magnetometer)
    altitude_sigma_frac: float = 0.03        # altimeter accuracy, fraction of height above ground
    max_ortho_side_px: int = 320             # registration template size cap (time budget)
    pose_solve: bool = True                  # full pose from correspondences (False: trust attitude)
    max_search_radius_px: int = 96           # wider uncertainty -> global relocalisation (C6)
    min_distinctiveness: float = 0.15        # C9 peak-uniqueness gate while tracking (C5 gates next)
    relocalization_min_distinctiveness: float = 0.30
    relocalization_candidates: int = 3       # C6 candidates verified per frame
    relocalization_confirmations: int = 2    # agreeing fixes before (re)initialising
    # First fix from agreement between frames that see different ground (C9 consensus):
    # on 48 s flights it gives sztaki_tiszadob_2 its first fix 8.5 s earlier and changes
    # no other run; no wrong place passed it in calibration (docs/localization.md)
    first_fix_consensus: bool = True
    consensus_min_separation: float = 0.3    # ground moved between the agreeing frames / footprint side
    consensus_tolerance_px: float = 3.0      # agreement radius (map px) + 3 sigma of dead reckoning
    consensus_rival_ratio: float = 0.7       # lesser peaks at >= this share of the best can form rival chains
    accel_noise_mps2: float = 2.0            # filter process noise
    fix_correlated_fraction: float = 0.7     # share of fix covariance that does not average out
    # the reported covariance never below fix_correlated_fraction x the mean claim of the
    # latest fix's ground (fixes of one ground share one cross-date error; C5 shared_error)
    report_shared_ground_error: bool = True
    max_speed_mps: float = 40.0              # bounds motion between unconfirmed relocalisations
    stale_telemetry_s: float = 0.5
    camera_stall_s: float = 1.0
    covariance_inflation: float = 1.5

    def __post_init__(self) -> None:
        for name in ("attitude_sigma_deg", "yaw_sigma_deg", "altitude_sigma_frac", "accel_noise_mps2", "max_speed_mps",
                     "stale_telemetry_s", "camera_stall_s", "covariance_inflation"):
            if not getattr(self, name) > 0:
                raise ValueError(f"localization.{name} must be > 0, got {getattr(self, name)}")
        if self.max_ortho_side_px < 64 or self.max_search_radius_px < 8:
            raise ValueError("localization.max_ortho_side_px must be >= 64 and max_search_radius_px >= 8")
        if not (self.consensus_min_separation > 0 and self.consensus_tolerance_px > 0
                and 0 < self.consensus_rival_ratio <= 1):
            raise ValueError("localization.consensus_* must be > 0 (rival ratio in (0, 1])")
        if self.relocalization_candidates < 1 or self.relocalization_confirmations < 1:
            raise ValueError("localization.relocalization_candidates/confirmations must be >= 1")
