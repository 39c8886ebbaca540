"""The pipeline's side of the multi-frame first-fix consensus (C9 `FirstFixConsensus`).

While no fix is held and the prior window is searched, a frame that passes the
tracking-level gates but not the first-fix distinctiveness offers its best correlation
peaks as a view; the views are carried along the odometry (dead-reckoned by the
filter's velocity where VO fails) and an accepted fix forgets them. Off unless
`localization.first_fix_consensus`: then every method is a no-op and the pipeline
behaves as without it.
"""

from __future__ import annotations

import math

import numpy as np

from gps_denied_onboard.components.c3_vo import VoMeasurement
from gps_denied_onboard.components.c5_state import FilterEstimate, HorizontalEkf
from gps_denied_onboard.components.c7_geo_registration import Ortho, RegistrationResult
from gps_denied_onboard.components.c9_integrity import ConsensusConfig, ConsensusView, FirstFixConsensus
from gps_denied_onboard.config.sections.localization import LocalizationConfig

# Correlation peaks kept per frame for the first-fix consensus (the best and its rivals).
CONSENSUS_CANDIDATES = 6
# Frames further apart than this break the consensus chain (dead reckoning is too loose).
CONSENSUS_MAX_GAP_S = 2.0


def first_fix_consensus(config: LocalizationConfig) -> FirstFixConsensus | None:
    """The multi-frame first-fix rule when the configuration enables it; each view must
    pass the tracking distinctiveness gate."""
    if not config.first_fix_consensus:
        return None
    return FirstFixConsensus(ConsensusConfig(
        min_separation=config.consensus_min_separation, tolerance_px=config.consensus_tolerance_px,
        rival_score_ratio=config.consensus_rival_ratio, min_view_distinctiveness=config.min_distinctiveness))


def footprint_side_m(ortho: Ortho) -> float:
    """Side of the square with the frame's ground footprint's area (m)."""
    return math.sqrt(float(np.count_nonzero(ortho.valid))) * ortho.gsd_m


def carry_views(consensus: FirstFixConsensus, vo: VoMeasurement | None, est: FilterEstimate | None,
                dt_s: float) -> None:
    """Move the consensus views by this frame's odometry, or, where it failed, by the
    filter's velocity over `dt_s` (the search window follows that same estimate) with
    the velocity's variance; a gap too long to dead-reckon breaks the chain."""
    if len(consensus) == 0:
        return
    if vo is not None:
        # No variance for an odometry step: most of its error is the frames' attitude
        # error, which shifts each frame's map peak as it shifts the displacement, so it
        # cancels along the chain (suite, true place: a peak carried 4-16 frames lands
        # within 0.2-1.2 px median of the new frame's, where the odometry alone is 1-2 px
        # off and claims 2-3 px). Where it does not cancel (up to 3-5 px on two runs) the
        # fixed tolerance refuses: an availability loss, never a wrong acceptance, and
        # the chance bound is computed on the tolerance actually applied.
        consensus.carry((vo.d_north_m, vo.d_east_m), 0.0)
    elif est is not None and 0.0 < dt_s <= CONSENSUS_MAX_GAP_S:
        var_v = max(float(est.covariance[2, 2]), float(est.covariance[3, 3]))
        consensus.carry((est.vn_mps * dt_s, est.ve_mps * dt_s), var_v * dt_s * dt_s)
    else:
        consensus.clear()


class FirstFixViews:
    """The consensus views of one pipeline (single-threaded, owned by it)."""

    def __init__(self, config: LocalizationConfig) -> None:
        self._consensus = first_fix_consensus(config)  # None unless enabled
        self._carried_ns: int | None = None  # the frame the views were last carried to

    def candidates(self, confirmed: bool) -> int:
        """Correlation peaks the prior-window registration should report: the consensus
        needs them only while enabled and no confirmed fix is held."""
        return CONSENSUS_CANDIDATES if self._consensus is not None and not confirmed else 0

    def carry(self, t_ns: int, vo: VoMeasurement | None, ekf: HorizontalEkf) -> None:
        """Carry the views to the frame at `t_ns` by its odometry `vo` (None: VO failed,
        dead-reckon by `ekf`'s velocity over the time since the last frame)."""
        if self._consensus is None:
            return
        dt = 0.0 if self._carried_ns is None else (t_ns - self._carried_ns) * 1e-9
        carry_views(self._consensus, vo, ekf.estimate(t_ns) if ekf.initialized else None, dt)
        self._carried_ns = t_ns

    def agrees(self, t_ns: int, res: RegistrationResult, ortho: Ortho) -> bool:
        """Offer the frame's registration `res` (past the tracking gates, too ambiguous for
        the first-fix gate; registered with `candidates(...)` peaks) as a view: True when it
        agrees with a frame that saw other ground (C9 consensus), so one fix is enough."""
        if self._consensus is None:
            return False
        view = ConsensusView.from_peaks(t_ns, res.peak_candidates, footprint_side_m(ortho), ortho.gsd_m,
                                        res.search_radius_px)
        return self._consensus.offer(view).accepted

    def clear(self) -> None:
        """A fix was accepted: the views are no longer needed."""
        if self._consensus is not None:
            self._consensus.clear()
