"""Relocalisation's registrars and its whole-map search window (the pipeline's
`_relocalize` drives them).

Relocalisation without a usable prior correlates a small coarse ortho of the frame
against the whole map (when the map is small enough, else against C6's candidates),
then registers the frame finely where the coarse search found it. The whole-map
search reuses the map's coarse orientation field and its spectrum, derived once per
scale (`MapFieldCache`): at the first relocalisation at a scale, not at build time,
because the coarse scale follows the flight height, which is unknown until telemetry
arrives.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from gps_denied_onboard._types import CameraModel, MapSource
from gps_denied_onboard.components.c3_vo import VoMeasurement
from gps_denied_onboard.components.c5_state import FilterEstimate
from gps_denied_onboard.components.c7_geo_registration import GeoRegistrar, MapFieldCache, Ortho, RegistrationConfig
from gps_denied_onboard.components.c9_integrity import ConsensusConfig, FirstFixConsensus
from gps_denied_onboard.config.sections.localization import LocalizationConfig

# The whole-map coarse fields (and their spectra) kept for relocalisation, all scales
# together: 9 bytes a map pixel + 8 a spectrum pixel; the suite's maps take 5-12 MB a
# scale; a map near the exhaustive-search limit ~40 MB (then one scale at a time).
MAP_FIELD_BYTES = 64 * 1024 * 1024
# Correlation peaks kept per frame for the first-fix consensus (the best and its rivals).
CONSENSUS_CANDIDATES = 6
# Frames further apart than this break the consensus chain (dead reckoning is too loose).
CONSENSUS_MAX_GAP_S = 2.0


def reloc_registrars(track: RegistrationConfig, map_source: MapSource, camera: CameraModel,
                     exhaustive_max_px: int) -> tuple[GeoRegistrar, GeoRegistrar]:
    """(coarse, refine) registrars derived from the tracking registrar's `track` config.

    coarse: half the template side, any search radius, few blocks, a nearly uncovered
    footprint allowed (the whole map is searched), the map field cached for maps up to
    the exhaustive-search size. refine: the tracking registration after a distinct coarse
    hit; the place is already found, so a partly covered footprint is fine as long as
    enough blocks land on the map (the inlier gates judge)."""
    side = max(64, track.max_ortho_side_px // 2)
    coarse_cfg = RegistrationConfig(
        max_ortho_side_px=side, max_search_radius_px=10_000, attitude_sigma_rad=track.attitude_sigma_rad,
        yaw_sigma_rad=track.yaw_sigma_rad, height_sigma_frac=track.height_sigma_frac, block_grid=(3, 3),
        min_coverage=0.02, covariance_inflation=track.covariance_inflation)
    # templates are at most `side` (+1 from rounding up) pixels a side: 8 px of slack
    fields = MapFieldCache(map_source, MAP_FIELD_BYTES, max_field_px=int(exhaustive_max_px * 1.1), template_px=side + 8)
    coarse = GeoRegistrar(map_source, camera, coarse_cfg, map_fields=fields)
    refine = GeoRegistrar(map_source, camera, replace(track, min_coverage=0.1, block_grid=(6, 4)))
    return coarse, refine


def whole_area_window(coarse: Ortho, template_shape: tuple[int, ...],
                      area: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """The prior (camera east, north) and sigma of one search that slides the coarse
    template over all of `area` (east_min, north_min, east_max, north_max), down to no
    overlap at its edges: the registrar's 3-sigma window is then the whole area."""
    e0, n0, e1, n1 = area
    g = coarse.gsd_m
    th, tw = template_shape[:2]
    half = 0.5 * max(e1 - e0, n1 - n0) + 0.5 * max(th, tw) * g
    ce = 0.5 * (e0 + e1) - (coarse.east_min_rel + tw * g / 2.0)
    cn = 0.5 * (n0 + n1) - (coarse.north_max_rel - th * g / 2.0)
    return ce, cn, half / 3.0


def first_fix_consensus(config: LocalizationConfig) -> FirstFixConsensus | None:
    """The multi-frame first-fix rule when the configuration enables it; each view must
    pass the tracking distinctiveness gate."""
    if not config.first_fix_consensus:
        return None
    return FirstFixConsensus(ConsensusConfig(
        enabled=True, min_separation=config.consensus_min_separation, tolerance_px=config.consensus_tolerance_px,
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
