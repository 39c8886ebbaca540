"""C9's public messages: gate configuration and decisions, health states."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Health(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    LOST = "lost"


class Degradation(StrEnum):
    """Why the system is not at full capability (several can hold at once)."""

    NO_TEXTURE = "no_texture"            # blank / water / cloud: nothing to match
    MAP_EDGE = "map_edge"                # the map does not cover where we are
    STALE_TELEMETRY = "stale_telemetry"  # attitude/altitude too old or absent
    CAMERA_STALL = "camera_stall"        # no frame for too long
    BAD_FRAME = "bad_frame"              # corrupt / unreadable / wrong-size frame
    NO_FIX = "no_fix"                    # registration refused for a while (dead reckoning)
    GNSS_DISAGREES = "gnss_disagrees"    # GNSS outside its claimed accuracy of vision (spoofing?)


@dataclass(frozen=True)
class IntegrityConfig:
    # Fraction of clear-edge pixels (C7 texture_score). 0.01, not 0.03: low-contrast 10 m/px
    # farmland scoring 0.003-0.03 registered within 1.9 px of the truth (distinctiveness
    # >= 0.78) and passed the other gates at wrong places no more often than textured
    # frames; below 0.01 those wrong-place passes grew (5 of 84 at the first-fix level).
    # 0.01 still refuses blank frames and white noise up to ~9 grey levels of sigma.
    min_texture: float = 0.01
    min_distinctiveness: float = 0.22
    min_score: float = 0.04
    min_inliers: int = 5
    min_inlier_ratio: float = 0.5
    max_rms_residual_px: float = 6.0
    max_chi2_dof: float = 40.0
    relocalization_min_distinctiveness: float = 0.30
    relocalization_min_ratio: float = 1.25   # best candidate's score over the best elsewhere
    relocalization_confirmations: int = 2    # consistent fixes needed before (re)initialising
    stale_telemetry_s: float = 0.5
    camera_stall_s: float = 1.0
    fix_timeout_s: float = 10.0              # degraded when no fix for this long
    lost_sigma_m: float = 250.0              # lost when the position 1-sigma exceeds this
    gnss_disagreement_sigmas: float = 5.0

    def __post_init__(self) -> None:
        if self.min_inliers < 3 or not 0 < self.min_inlier_ratio <= 1:
            raise ValueError("min_inliers must be >= 3 and min_inlier_ratio in (0, 1]")
        if self.relocalization_confirmations < 1:
            raise ValueError("relocalization_confirmations must be >= 1")


@dataclass(frozen=True)
class GateDecision:
    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class HealthReport:
    health: Health
    degradations: frozenset[Degradation] = field(default_factory=frozenset)
