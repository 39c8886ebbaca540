"""First-fix consensus across frames that see different ground.

Before the first fix (or after being lost) a single frame must pass the strict
relocalisation distinctiveness gate, because consecutive frames overlap by > 95 %:
two of them agreeing is one piece of evidence seen twice. Frames whose footprints are
far apart see mostly different ground, so their correlation peaks are (nearly)
independent draws: a wrong place would have to produce peaks at the same place in
both, displaced exactly as the odometry says the vehicle moved. This module keeps,
for each recent frame that passed the ordinary (tracking-level) gates, the places its
correlation found (its best local maxima), carries them along the odometry, and
accepts when the current frame's best place agrees with the best place of a frame
far enough back, and no rival pairing of lesser peaks also agrees (uniqueness).

Pure bookkeeping and geometry: the pipeline decides what a view is and what happens
on acceptance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ConsensusConfig:
    """Thresholds of the multi-frame first-fix rule (calibrated on wrong-place data)."""

    min_separation: float = 0.3        # ground moved between the two views / footprint side
    tolerance_px: float = 3.0          # agreement radius (map px), plus 3 sigma of odometry drift
    rival_score_ratio: float = 0.7     # lesser peaks at >= this share of a view's best can form rival chains
    min_view_distinctiveness: float = 0.15  # each view's own peak gate (the tracking gate)
    max_chance: float = 0.01           # bound on a chance agreement of two views' strong peaks
    unanimous: bool = True             # every independent view must agree (else: one agreeing suffices)
    max_age_s: float = 10.0            # views older than this are dropped
    max_views: int = 40

    def __post_init__(self) -> None:
        if self.min_separation <= 0 or self.tolerance_px <= 0:
            raise ValueError("consensus min_separation and tolerance_px must be > 0")
        if not 0 < self.rival_score_ratio <= 1:
            raise ValueError("consensus rival_score_ratio must be in (0, 1]")
        if self.max_age_s <= 0 or self.max_views < 2:
            raise ValueError("consensus max_age_s must be > 0 and max_views >= 2")
        if not 0 < self.max_chance < 1:
            raise ValueError("consensus max_chance must be in (0, 1)")


@dataclass
class ConsensusView:
    """One frame's evidence: the body positions (north, east) of its best correlation
    peaks, best first, with their scores; its footprint side and map pixel (m); how
    many positions its search tried (`window_px`, map px at `gsd_m`).
    `moved_ne` is the odometry displacement accumulated since the frame (carried
    along by `FirstFixConsensus.carry`), `drift_var_m2` that displacement's variance."""

    t_ns: int
    candidates_ne: F64
    scores: F64
    footprint_m: float
    gsd_m: float
    window_px: float
    moved_ne: F64 = field(default_factory=lambda: np.zeros(2))
    drift_var_m2: float = 0.0

    @staticmethod
    def from_peaks(t_ns: int, peaks_en: tuple[tuple[float, float, float], ...], footprint_m: float,
                   gsd_m: float, search_radius_px: int) -> ConsensusView:
        """From C7's `peak_candidates` ((east, north, score), best first) of a search
        `search_radius_px` either side of its prior."""
        arr = np.asarray(peaks_en, np.float64).reshape(-1, 3)
        return ConsensusView(int(t_ns), np.ascontiguousarray(arr[:, [1, 0]]), arr[:, 2].copy(), float(footprint_m),
                             float(gsd_m), float(2 * search_radius_px + 1) ** 2)


@dataclass(frozen=True)
class ConsensusDecision:
    accepted: bool
    reason: str = ""              # no_independent_view | views_disagree | rival_chain | chance_agreement
    partner_t_ns: int | None = None


def pair_agreement(old: ConsensusView, new: ConsensusView, cfg: ConsensusConfig) -> str:
    """'' when the best peaks of `old` (carried to now) and `new` agree, no other pairing
    of their strong peaks agrees somewhere else, and agreement by chance is unlikely;
    else why not.

    Chance: at a wrong place the best peaks of views that see different ground fall
    anywhere in their search windows, so they agree within the tolerance with
    probability about pi * tol^2 / window (a +-62 px window: 0.3 %; a +-11 px one, one
    time in twelve): that must stay under `max_chance` for the agreement to count.
    Lesser peaks only ever refuse (a rival chain), so they add no chance of accepting."""
    tol = cfg.tolerance_px * max(old.gsd_m, new.gsd_m) + 3.0 * math.sqrt(max(old.drift_var_m2, 0.0))
    a = old.candidates_ne + old.moved_ne
    b = new.candidates_ne
    g = max(old.gsd_m, new.gsd_m)
    window = min(old.window_px * (old.gsd_m / g) ** 2, new.window_px * (new.gsd_m / g) ** 2)
    if math.pi * (tol / g) ** 2 / max(window, 1.0) > cfg.max_chance:
        return "chance_agreement"  # too loose to tell: neither evidence for nor against
    if a.shape[0] == 0 or b.shape[0] == 0:
        return "views_disagree"
    if float(np.hypot(*(a[0] - b[0]))) > tol:
        return "views_disagree"
    strong_a = a[old.scores >= cfg.rival_score_ratio * old.scores[0]]
    strong_b = b[new.scores >= cfg.rival_score_ratio * new.scores[0]]
    main = 0.5 * (a[0] + b[0])
    for pa in strong_a:
        d = np.hypot(*(strong_b - pa).T)
        for pb in strong_b[d <= tol]:
            if float(np.hypot(*(0.5 * (pa + pb) - main))) > 2.0 * tol:
                return "rival_chain"
    return ""


class FirstFixConsensus:
    """The views kept while no fix is held. Single-threaded, owned by the pipeline."""

    def __init__(self, config: ConsensusConfig) -> None:
        self.config = config
        self._views: list[ConsensusView] = []

    def __len__(self) -> int:
        return len(self._views)

    def clear(self) -> None:
        """Forget every view (a fix was accepted, or the odometry chain broke)."""
        self._views = []

    def carry(self, d_ne: npt.ArrayLike, var_m2: float) -> None:
        """The vehicle moved by `d_ne` (north, east; m) with variance `var_m2` per axis
        since the last frame (odometry): every kept view's places move along."""
        d = np.asarray(d_ne, np.float64)
        for v in self._views:
            v.moved_ne = v.moved_ne + d
            v.drift_var_m2 += float(var_m2)

    def offer(self, view: ConsensusView) -> ConsensusDecision:
        """Judge `view` (the current frame, already past its own gates) against the kept
        views, then keep it. Accepted when some kept view far enough back (the ground
        moved by >= `min_separation` of the smaller footprint) agrees with it, no kept
        view that far back offers a rival chain, and (`unanimous`) none disagrees: one
        dissenting independent view is enough to doubt a place. A view carried so
        loosely (dead reckoning) that agreement would prove nothing abstains."""
        cfg = self.config
        self._views = [v for v in self._views if (view.t_ns - v.t_ns) * 1e-9 <= cfg.max_age_s]
        partners = [v for v in self._views
                    if float(np.hypot(*v.moved_ne)) >= cfg.min_separation * min(v.footprint_m, view.footprint_m)]
        self._views.append(view)
        del self._views[:-cfg.max_views]
        if not partners:
            return ConsensusDecision(False, "no_independent_view")
        # a pairing too loose to be told from chance (long dead reckoning) abstains
        verdicts = [(why, v.t_ns) for v in partners if (why := pair_agreement(v, view, cfg)) != "chance_agreement"]
        if not verdicts:
            return ConsensusDecision(False, "chance_agreement")
        agreeing = [t for why, t in verdicts if not why]
        if any(why == "rival_chain" for why, _ in verdicts):
            return ConsensusDecision(False, "rival_chain")
        if not agreeing or (cfg.unanimous and len(agreeing) < len(verdicts)):
            return ConsensusDecision(False, "views_disagree")
        return ConsensusDecision(True, "", max(agreeing))
