"""C9 first-fix consensus: frames far enough apart whose best peaks agree after the
odometry are accepted; disagreeing peaks, a rival chain of lesser peaks, frames that
still see the same ground, and windows small enough to agree by chance are refused."""

from __future__ import annotations

import numpy as np
import pytest

from gps_denied_onboard.components.c9_integrity import (
    ConsensusConfig,
    ConsensusView,
    FirstFixConsensus,
    pair_agreement,
)

G = 1.5        # map pixel (m)
FOOT = 240.0   # footprint side (m)
RADIUS = 62    # search radius (px): a 30 m prior at 1.5 m/px
CFG = ConsensusConfig(min_separation=0.3, tolerance_px=3.0, rival_score_ratio=0.8)
TRUE_NE = np.array([1000.0, 2000.0])


def view(t_s: float, peaks_ne: list[tuple[float, float, float]], radius: int = RADIUS) -> ConsensusView:
    """A view whose peaks are (north, east, score), best first."""
    return ConsensusView.from_peaks(int(t_s * 1e9), tuple((e, n, s) for n, e, s in peaks_ne), FOOT, G, radius)


def fly(consensus: FirstFixConsensus, step_ne: tuple[float, float], n: int) -> None:
    for _ in range(n):
        consensus.carry(step_ne, 0.01)


def test_views_of_different_ground_agreeing_on_the_place_are_accepted() -> None:
    c = FirstFixConsensus(CFG)
    first = c.offer(view(0.0, [(*TRUE_NE, 0.5), (TRUE_NE[0] + 60, TRUE_NE[1] - 30, 0.42)]))
    assert not first.accepted and first.reason == "no_independent_view"
    fly(c, (0.0, 6.0), 14)  # 84 m east: 35 % of the footprint
    now = TRUE_NE + [0.0, 84.0]
    d = c.offer(view(7.0, [(now[0] + 1.0, now[1] - 1.5, 0.45), (now[0] - 50, now[1] + 70, 0.37)]))
    assert d.accepted and d.partner_t_ns == 0


def test_views_that_still_see_the_same_ground_are_not_evidence() -> None:
    c = FirstFixConsensus(CFG)
    c.offer(view(0.0, [(*TRUE_NE, 0.5)]))
    fly(c, (0.0, 6.0), 5)  # 30 m: 12 % of the footprint, the ground is mostly the same
    d = c.offer(view(2.5, [(TRUE_NE[0], TRUE_NE[1] + 30.0, 0.5)]))
    assert not d.accepted and d.reason == "no_independent_view"


def test_best_peaks_whose_displacement_disagrees_with_the_odometry_are_refused() -> None:
    c = FirstFixConsensus(CFG)
    c.offer(view(0.0, [(*TRUE_NE, 0.5)]))
    fly(c, (0.0, 6.0), 14)
    # the new best peak is 12 m (8 px) from where the odometry carried the old one
    d = c.offer(view(7.0, [(TRUE_NE[0] + 12.0, TRUE_NE[1] + 84.0, 0.5)]))
    assert not d.accepted and d.reason == "views_disagree"


def test_a_rival_chain_of_lesser_peaks_refuses_the_place() -> None:
    c = FirstFixConsensus(CFG)
    rival = TRUE_NE + [45.0, -30.0]
    c.offer(view(0.0, [(*TRUE_NE, 0.5), (*rival, 0.45)]))
    fly(c, (0.0, 6.0), 14)
    shift = np.array([0.0, 84.0])
    d = c.offer(view(7.0, [(*(TRUE_NE + shift), 0.5), (*(rival + shift + [1.0, 1.0]), 0.44)]))
    assert not d.accepted and d.reason == "rival_chain"


def test_weak_lesser_peaks_are_not_rivals() -> None:
    c = FirstFixConsensus(CFG)
    rival = TRUE_NE + [45.0, -30.0]
    c.offer(view(0.0, [(*TRUE_NE, 0.5), (*rival, 0.30)]))  # 0.6 of the best: below the rival ratio
    fly(c, (0.0, 6.0), 14)
    shift = np.array([0.0, 84.0])
    assert c.offer(view(7.0, [(*(TRUE_NE + shift), 0.5), (*(rival + shift), 0.30)])).accepted


def test_a_window_small_enough_to_agree_by_chance_is_not_evidence() -> None:
    c = FirstFixConsensus(CFG)
    c.offer(view(0.0, [(*TRUE_NE, 0.5)], radius=11))  # +-11 px: 3 px agree by chance ~5 %
    fly(c, (0.0, 6.0), 14)
    d = c.offer(view(7.0, [(TRUE_NE[0], TRUE_NE[1] + 84.0, 0.5)], radius=11))
    assert not d.accepted and d.reason == "chance_agreement"


def test_one_dissenting_independent_view_is_enough_to_refuse() -> None:
    c = FirstFixConsensus(CFG)
    c.offer(view(0.0, [(*TRUE_NE, 0.5)]))
    c.offer(view(0.5, [(TRUE_NE[0] + 40.0, TRUE_NE[1] + 6.0, 0.5)]))  # another place
    fly(c, (0.0, 6.0), 14)
    d = c.offer(view(7.5, [(TRUE_NE[0], TRUE_NE[1] + 84.0, 0.5)]))
    assert not d.accepted and d.reason == "views_disagree"
    any_cfg = ConsensusConfig(min_separation=0.3, unanimous=False)
    c2 = FirstFixConsensus(any_cfg)
    c2.offer(view(0.0, [(*TRUE_NE, 0.5)]))
    c2.offer(view(0.5, [(TRUE_NE[0] + 40.0, TRUE_NE[1] + 6.0, 0.5)]))
    fly(c2, (0.0, 6.0), 14)
    assert c2.offer(view(7.5, [(TRUE_NE[0], TRUE_NE[1] + 84.0, 0.5)])).accepted


def test_odometry_drift_widens_the_tolerance() -> None:
    old = view(0.0, [(*TRUE_NE, 0.5)])
    new = view(7.0, [(TRUE_NE[0] + 9.0, TRUE_NE[1], 0.5)])  # 6 px off
    assert pair_agreement(old, new, CFG) == "views_disagree"
    old.drift_var_m2 = 4.0  # 2 m of drift: 3 sigma = 6 m more
    assert pair_agreement(old, new, CFG) == ""


def test_old_views_expire_and_clear_forgets() -> None:
    c = FirstFixConsensus(ConsensusConfig(min_separation=0.3, max_age_s=5.0))
    c.offer(view(0.0, [(*TRUE_NE, 0.5)]))
    fly(c, (0.0, 6.0), 14)
    d = c.offer(view(7.0, [(TRUE_NE[0], TRUE_NE[1] + 84.0, 0.5)]))
    assert not d.accepted and d.reason == "no_independent_view"
    assert len(c) == 1
    c.clear()
    assert len(c) == 0


@pytest.mark.parametrize("kw", [dict(min_separation=0.0), dict(tolerance_px=-1.0), dict(rival_score_ratio=0.0),
                                dict(max_chance=1.0), dict(max_views=1)])
def test_config_rejects_nonsense(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ConsensusConfig(**kw)  # type: ignore[arg-type]


def test_a_loosely_carried_view_abstains_instead_of_vetoing() -> None:
    c = FirstFixConsensus(CFG)
    c.offer(view(0.0, [(TRUE_NE[0] + 40.0, TRUE_NE[1], 0.5)]))  # disagrees, but ...
    c.carry((0.0, 0.0), 400.0)  # ... dead-reckoned for long: +-60 m, it cannot tell
    c.offer(view(0.5, [(*TRUE_NE, 0.5)]))
    fly(c, (0.0, 6.0), 14)
    d = c.offer(view(7.5, [(TRUE_NE[0], TRUE_NE[1] + 84.0, 0.5)]))
    assert d.accepted
