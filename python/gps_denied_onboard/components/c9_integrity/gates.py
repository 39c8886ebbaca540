"""Fix gating (before the filter) and health monitoring.

A registration result becomes a fix only if its own quality is convincing
(texture, peak distinctiveness, inliers, residuals) and, when the filter is
running, it is consistent with the filter's prediction (the Mahalanobis gate in
C5 is the second line). A false fix in the filter is the worst failure this
product has; refusing a good fix only costs availability.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c9_integrity.interface import (
    Degradation,
    GateDecision,
    Health,
    HealthReport,
    IntegrityConfig,
)


def gate_registration(
    cfg: IntegrityConfig,
    *,
    ok: bool,
    reason: str,
    texture: float,
    score: float,
    distinctiveness: float,
    n_blocks: int,
    n_inliers: int,
    rms_residual_px: float,
    chi2_dof: float,
    relocalization: bool = False,
) -> GateDecision:
    """Quality gates on one registration attempt (no filter involved)."""
    if not ok:
        return GateDecision(False, reason or "registration_failed")
    if texture < cfg.min_texture:
        return GateDecision(False, "no_texture")
    if score < cfg.min_score:
        return GateDecision(False, "weak_peak")
    need = cfg.relocalization_min_distinctiveness if relocalization else cfg.min_distinctiveness
    if distinctiveness < need:
        return GateDecision(False, "ambiguous_peak")
    if n_inliers < cfg.min_inliers:
        return GateDecision(False, "too_few_inliers")
    if n_blocks > 0 and n_inliers / n_blocks < cfg.min_inlier_ratio:
        return GateDecision(False, "low_inlier_ratio")
    if not math.isfinite(rms_residual_px) or rms_residual_px > cfg.max_rms_residual_px:
        return GateDecision(False, "large_residuals")
    if not math.isfinite(chi2_dof) or chi2_dof > cfg.max_chi2_dof:
        return GateDecision(False, "inconsistent_geometry")
    return GateDecision(True)


def consistent(a_ne: npt.ArrayLike, cov_a: npt.ArrayLike, b_ne: npt.ArrayLike, cov_b: npt.ArrayLike, chi2: float = 13.8) -> bool:
    """Whether two position estimates agree within their joint covariance."""
    d = np.asarray(a_ne, np.float64) - np.asarray(b_ne, np.float64)
    s = np.asarray(cov_a, np.float64) + np.asarray(cov_b, np.float64)
    try:
        return float(d @ np.linalg.solve(s, d)) <= chi2
    except np.linalg.LinAlgError:
        return False


def gnss_disagrees(cfg: IntegrityConfig, vision_ne: npt.ArrayLike, vision_cov: npt.ArrayLike,
                   gnss_ne: npt.ArrayLike, gnss_sigma_m: float) -> bool:
    """True when a GNSS position lies outside `gnss_disagreement_sigmas` of the joint
    uncertainty of vision and the GNSS's own claimed accuracy (jamming/spoofing flag)."""
    d = np.asarray(gnss_ne, np.float64) - np.asarray(vision_ne, np.float64)
    s = np.asarray(vision_cov, np.float64) + np.eye(2) * max(gnss_sigma_m, 0.1) ** 2
    try:
        m2 = float(d @ np.linalg.solve(s, d))
    except np.linalg.LinAlgError:
        return False
    return m2 > cfg.gnss_disagreement_sigmas**2


class HealthMonitor:
    """Tracks the freshness of inputs and fixes; reports health and degradations."""

    def __init__(self, config: IntegrityConfig | None = None) -> None:
        self.config = config or IntegrityConfig()
        self.last_frame_ns: int | None = None
        self.last_telemetry_ns: int | None = None
        self.last_fix_ns: int | None = None
        self._frame_flags: set[Degradation] = set()
        self.gnss_disagreement = False

    def frame_seen(self, t_ns: int, flags: set[Degradation]) -> None:
        """A frame was processed; `flags` are what it showed (no texture, map edge, bad frame)."""
        self.last_frame_ns = t_ns if self.last_frame_ns is None else max(self.last_frame_ns, t_ns)
        self._frame_flags = set(flags)

    def telemetry_seen(self, t_ns: int) -> None:
        self.last_telemetry_ns = t_ns if self.last_telemetry_ns is None else max(self.last_telemetry_ns, t_ns)

    def fix_accepted(self, t_ns: int) -> None:
        self.last_fix_ns = t_ns if self.last_fix_ns is None else max(self.last_fix_ns, t_ns)

    def report(self, now_ns: int, initialized: bool, position_sigma_m: float) -> HealthReport:
        cfg = self.config
        flags = set(self._frame_flags)
        if self.last_frame_ns is None or (now_ns - self.last_frame_ns) * 1e-9 > cfg.camera_stall_s:
            flags.add(Degradation.CAMERA_STALL)
        if self.last_telemetry_ns is None or (now_ns - self.last_telemetry_ns) * 1e-9 > cfg.stale_telemetry_s:
            flags.add(Degradation.STALE_TELEMETRY)
        if self.last_fix_ns is None or (now_ns - self.last_fix_ns) * 1e-9 > cfg.fix_timeout_s:
            flags.add(Degradation.NO_FIX)
        if self.gnss_disagreement:
            flags.add(Degradation.GNSS_DISAGREES)
        if not initialized or not math.isfinite(position_sigma_m) or position_sigma_m > cfg.lost_sigma_m:
            health = Health.LOST
        elif flags:
            health = Health.DEGRADED
        else:
            health = Health.OK
        return HealthReport(health, frozenset(flags))
