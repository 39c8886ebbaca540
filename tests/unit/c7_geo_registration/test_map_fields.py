"""The cached whole-map orientation field (relocalisation's coarse search): a crop of
it stands for a patch read of the map, a registration through it finds the same place,
and the cache is keyed by scale and bounded."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from gps_denied_onboard._types import CameraModel, ned_from_camera
from gps_denied_onboard.components.c7_geo_registration import (
    GeoRegistrar,
    InMemoryMap,
    MapFieldCache,
    RegistrationConfig,
    RegistrationResult,
    orientation_field,
    render_view,
    to_gray,
)
from gps_denied_onboard.components.c7_geo_registration.map_fields import compute_map_field, scale_key, spectrum_bytes

H = 228.5
# the pipeline's relocalisation registrar: small template, whole-map window, few blocks
RELOC = RegistrationConfig(max_ortho_side_px=160, max_search_radius_px=10_000, block_grid=(3, 3), min_coverage=0.02)


def _whole_map_search(world: tuple[InMemoryMap, InMemoryMap], camera: CameraModel, cache: MapFieldCache | None,
                      e: float, n: float, yaw: float, height: float = H) -> tuple[RegistrationResult, float]:
    m, f = world
    R = ned_from_camera(0.01, -0.02, yaw, camera.body_from_camera)
    img, _ = render_view(f, camera, e, n, height, R)
    reg = GeoRegistrar(m, camera, RELOC, map_fields=cache)
    ortho, field = reg.make_ortho(img, R, height, 1)
    e0, n0, e1, n1 = m.bounds_en_m
    th, tw = field.shape[:2]
    g = ortho.gsd_m
    half = 0.5 * max(e1 - e0, n1 - n0) + 0.5 * max(th, tw) * g
    ce = 0.5 * (e0 + e1) - (ortho.east_min_rel + tw * g / 2.0)
    cn = 0.5 * (n0 + n1) - (ortho.north_max_rel - th * g / 2.0)
    return reg.register(ortho, field, 1, ce, cn, half / 3.0, whole_map=True), g


@pytest.mark.parametrize("spectrum", [False, True])
@pytest.mark.parametrize(("e", "n", "yaw"), [(120.0, -80.0, 0.4), (-200.0, 150.0, 2.5), (30.0, 260.0, -1.2)])
def test_cached_field_finds_the_same_place_as_reading_the_map(world: tuple[InMemoryMap, InMemoryMap], camera: CameraModel,
                                                              e: float, n: float, yaw: float, spectrum: bool) -> None:
    cache = MapFieldCache(world[0], 64 << 20, template_px=168 if spectrum else None)
    read, g = _whole_map_search(world, camera, None, e, n, yaw)
    cached, _ = _whole_map_search(world, camera, cache, e, n, yaw)
    assert read.ok and cached.ok
    assert cache.computed == 1
    # the crop is the same map at another sampling phase (< half a pixel): the same peak
    assert math.hypot(cached.east_m - read.east_m, cached.north_m - read.north_m) < 0.5 * g
    assert math.hypot(cached.east_m - e, cached.north_m - n) < 2.0 * g
    assert cached.distinctiveness == pytest.approx(read.distinctiveness, abs=0.05)
    assert cached.score == pytest.approx(read.score, abs=0.05)


def test_crop_is_the_cached_grid_with_exact_geometry(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    m = world[0]
    g = 2.0 ** (11 / 8)
    mf = compute_map_field(m, g)
    field, patch = mf.crop(17.3, -41.9, 120, 90)
    assert field.shape == (90, 120, 2) and patch.valid.shape == (90, 120)
    # the window starts on a whole cached pixel, at most half a pixel from the request
    u0 = (patch.east_min_m - mf.east_min_m) / g
    v0 = (mf.north_max_m - patch.north_max_m) / g
    assert u0 == pytest.approx(round(u0), abs=1e-9) and v0 == pytest.approx(round(v0), abs=1e-9)
    assert abs(patch.east_min_m - (17.3 - 60 * g)) <= 0.5 * g + 1e-9
    assert abs(patch.north_max_m - (-41.9 + 45 * g)) <= 0.5 * g + 1e-9
    u, v = int(round(u0)), int(round(v0))
    assert np.array_equal(field, mf.field[v:v + 90, u:u + 120])
    # and it is the map's field where it matters: a patch read there has the same structure
    ce, cn = patch.pixel_to_en(59.5, 44.5)
    read = m.read_patch(float(ce), float(cn), 120, 90, g)
    fresh = orientation_field(to_gray(read.image), read.valid)
    inner = (slice(10, 80), slice(10, 110))
    a, b = field[inner].ravel(), fresh[inner].ravel()
    assert float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) > 0.95


def test_crop_outside_the_map_is_zero_and_invalid(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    mf = compute_map_field(world[0], 4.0)
    field, patch = mf.crop(2000.0, 0.0, 50, 40)  # the map spans +-450 m
    assert not patch.valid.any() and not field.any()
    field, patch = mf.crop(450.0, 0.0, 50, 40)  # half on the map
    assert 0.3 < patch.valid.mean() < 0.7
    assert not field[:, 40:].any()


def test_cache_hits_by_scale_and_stays_within_its_budget(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    m = world[0]
    native = m.native_gsd_m
    scales = [native * 2.0 ** (k / 8) for k in (16, 17, 18)]  # 4 m/px and the next ladder steps
    one = compute_map_field(m, scales[0]).nbytes
    cache = MapFieldCache(m, max_bytes=int(2.5 * one))
    a = cache.get(scales[0])
    assert a is not None and cache.get(scales[0]) is a and cache.computed == 1  # a hit
    cache.get(scales[1])
    assert cache.keys() == [16, 17] and cache.computed == 2
    cache.get(scales[0])  # touched: now the most recently used
    cache.get(scales[2])  # over the budget: the least recently used (17) goes
    assert cache.keys() == [16, 18] and cache.computed == 3
    assert cache.nbytes <= cache.max_bytes
    assert scale_key(scales[1], native) == 17 and scale_key(native, native) == 0


def test_a_scale_off_the_ladder_is_not_served_a_neighbours_field(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    m = world[0]
    cache = MapFieldCache(m, 64 << 20)
    a = cache.get(4.0)
    b = cache.get(4.0 * 1.01)  # same ladder step, another scale
    assert a is not None and b is not None and b.gsd_m == pytest.approx(4.04) and cache.computed == 2
    assert cache.keys() == [16]


def test_a_map_too_large_for_the_cache_is_read_as_before(world: tuple[InMemoryMap, InMemoryMap], camera: CameraModel) -> None:
    cache = MapFieldCache(world[0], max_bytes=1 << 20, max_field_px=10_000)  # 100 x 100 px at most
    read, g = _whole_map_search(world, camera, None, 120.0, -80.0, 0.4)
    res, _ = _whole_map_search(world, camera, cache, 120.0, -80.0, 0.4)
    assert cache.get(g) is None and cache.computed == 0
    assert (res.ok, res.east_m, res.north_m) == (read.ok, read.east_m, read.north_m)


def test_block_rays_are_the_per_point_rays(camera: CameraModel) -> None:
    """The registrar undistorts all block centres in one call: the same rays as one by one."""
    cam = CameraModel(camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy, (-0.12, 0.03, 0.001, -0.002))
    uv = np.random.default_rng(3).uniform((0, 0), (cam.width, cam.height), (24, 2))
    batch = cam.unproject(uv)
    single = np.array([cam.unproject(p[None, :])[0] for p in uv])
    assert np.array_equal(batch, single)


@pytest.mark.parametrize(("east", "north", "w", "h"),
                         [(0.0, 0.0, 420, 400), (200.0, -150.0, 400, 390), (-150.0, 150.0, 400, 380), (30.0, 0.0, 700, 650)])
def test_spectrum_correlation_is_opencvs_normalised_correlation(world: tuple[InMemoryMap, InMemoryMap],
                                                                 east: float, north: float, w: int, h: int) -> None:
    """Over whole-map, off-centre and larger-than-the-grid windows: the same scores as
    matchTemplate on the crop (windows barely touching the map score 0 instead of
    rounding noise)."""
    mf = compute_map_field(world[0], 2.0 ** (11 / 8), template_px=100)
    window, _ = mf.crop(east, north, w, h)
    template = np.ascontiguousarray(mf.field[150:230, 120:215])
    got = mf.correlate(window, template, *mf.origin(east, north, w, h))
    want = np.nan_to_num(cv2.matchTemplate(window, template, cv2.TM_CCORR_NORMED))
    assert got is not None and got.shape == want.shape
    touched = want != 0
    assert np.abs(got - want)[touched].max() < 1e-3 or not touched.any()
    assert np.abs(got).max() <= 1.0
    assert np.unravel_index(np.argmax(got), got.shape) == np.unravel_index(np.argmax(want), want.shape)


def test_spectrum_correlation_declines_windows_it_does_not_pay_for(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    mf = compute_map_field(world[0], 4.0, template_px=40)
    assert mf.spectrum is not None
    template = np.ascontiguousarray(mf.field[50:80, 50:90])
    window, _ = mf.crop(0.0, 0.0, 600, 600)
    big = np.ascontiguousarray(mf.field[20:80, 20:90])  # larger than the spectrum's padding
    assert mf.correlate(window, big, *mf.origin(0.0, 0.0, 600, 600)) is None
    assert mf.correlate(window, template, *mf.origin(0.0, 0.0, 600, 600)) is not None
    small, _ = mf.crop(100.0, 50.0, 80, 60)  # a small fraction of the grid: matchTemplate is cheaper
    assert mf.correlate(small, template, *mf.origin(100.0, 50.0, 80, 60)) is None
    assert compute_map_field(world[0], 4.0).correlate(window, window[:30, :40].copy(), 0, 0) is None  # no spectrum


def test_a_bounded_search_reads_the_map_as_before(world: tuple[InMemoryMap, InMemoryMap], camera: CameraModel) -> None:
    """Only whole-map searches use the cache: a search around a prior gives bit for bit
    what it gave before (and derives no field)."""
    m, f = world
    R = ned_from_camera(0.01, -0.02, 0.4, camera.body_from_camera)
    img, _ = render_view(f, camera, 120.0, -80.0, H, R)
    cache = MapFieldCache(m, 64 << 20, template_px=168)
    results = []
    for fields in (None, cache):
        reg = GeoRegistrar(m, camera, RELOC, map_fields=fields)
        ortho, field = reg.make_ortho(img, R, H, 1)
        results.append(reg.register(ortho, field, 1, 110.0, -70.0, 40.0))
    assert results[0].ok and cache.computed == 0
    assert (results[1].east_m, results[1].north_m, results[1].score) == (results[0].east_m, results[0].north_m, results[0].score)


def test_budget_counts_the_spectrum(world: tuple[InMemoryMap, InMemoryMap]) -> None:
    mf = compute_map_field(world[0], 4.0, template_px=40)
    h, w = mf.valid.shape
    assert mf.spectrum is not None and mf.nbytes == w * h * 9 + spectrum_bytes(h, w, 40)
    assert not MapFieldCache(world[0], max_bytes=mf.nbytes - 1, template_px=40).fits(4.0)
    assert MapFieldCache(world[0], max_bytes=mf.nbytes, template_px=40).fits(4.0)
