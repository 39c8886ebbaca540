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

from dataclasses import replace

from gps_denied_onboard._types import CameraModel, MapSource
from gps_denied_onboard.components.c7_geo_registration import GeoRegistrar, MapFieldCache, Ortho, RegistrationConfig

# The whole-map coarse fields (and their spectra) kept for relocalisation, all scales
# together: 9 bytes a map pixel + 8 a spectrum pixel; the suite's maps take 5-12 MB a
# scale; a map near the exhaustive-search limit ~40 MB (then one scale at a time).
MAP_FIELD_BYTES = 64 * 1024 * 1024


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
