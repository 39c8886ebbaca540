"""The verified cache as a MapSource, its descriptor index and calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cache_simulator import CAMERA_YAML, MARKER, CacheSimulator, Z

from gps_denied_onboard._types import EnuFrame, LatLonAlt, MapSource, ground_resolution_m_per_px, tile_bounds
from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c4_map_cache import (
    CalibrationError,
    TileNotInCacheError,
    VerifiedCache,
    descriptor_id,
    open_cache,
    parse_camera_yaml,
)


def _open(sim: CacheSimulator, d: Path, state: Path) -> VerifiedCache:
    return open_cache(d, trusted_keys=[sim.public_key], state_path=state, clock=FakeClock())


def _bright_centroid(img: np.ndarray) -> tuple[float, float]:
    g = img[:, :, 0].astype(float)
    rows, cols = np.nonzero(g > 200)
    assert rows.size, "marker not found in patch"
    return float(cols.mean()), float(rows.mean())


@pytest.mark.parametrize("takeoff", [None, (45.5005, 15.0022, 350.0)])
def test_patch_puts_the_marker_where_the_geodesy_says(sim: CacheSimulator, state: Path, takeoff: tuple[float, float, float] | None) -> None:
    cache = _open(sim, sim.build("a", takeoff=takeoff), state)
    source = cache.map_source()
    assert isinstance(source, MapSource)
    if takeoff:
        assert source.frame.origin == LatLonAlt(*takeoff)
    gsd = source.native_gsd_m
    assert gsd == pytest.approx(ground_resolution_m_per_px(source.frame.origin.lat_deg, Z))
    e, n, _ = source.frame.to_enu(LatLonAlt(MARKER[0], MARKER[1], source.frame.origin.alt_m))  # the scalar reference
    patch = source.read_patch(float(e), float(n), 64, 48, gsd)
    assert patch.valid.all()
    cu, cv = _bright_centroid(patch.image)
    me, mn = patch.pixel_to_en(cu, cv)
    # the marker is 4 tile pixels drawn at the pixel floor: its centre sits within ~1 px
    assert abs(me - e) < 1.2 * gsd and abs(mn - n) < 1.2 * gsd


def test_patch_at_a_coarser_gsd_keeps_georeference(sim: CacheSimulator, state: Path) -> None:
    source = _open(sim, sim.build("a"), state).map_source()
    e, n, _ = source.frame.to_enu(LatLonAlt(MARKER[0], MARKER[1], 0.0))
    patch = source.read_patch(float(e), float(n), 40, 40, 2.0 * source.native_gsd_m)
    assert patch.valid.all()
    g = patch.image[:, :, 0].astype(float)
    v, u = np.unravel_index(np.argmax(g), g.shape)
    me, mn = patch.pixel_to_en(u, v)
    assert abs(me - e) < 2.5 * patch.gsd_m and abs(mn - n) < 2.5 * patch.gsd_m


def test_out_of_coverage_patch_is_invalid_not_an_error(sim: CacheSimulator, state: Path) -> None:
    source = _open(sim, sim.build("a"), state).map_source()
    e_min, n_min, e_max, n_max = source.bounds_en_m
    far = source.read_patch(e_max + 5000.0, n_max + 5000.0, 32, 32, 1.0)
    assert not far.valid.any() and not far.image.any()
    edge = source.read_patch(e_max, (n_min + n_max) / 2, 40, 40, source.native_gsd_m)
    assert 0.3 < edge.valid.mean() < 0.7  # half on the map, half off
    assert not edge.image[~edge.valid].any()


def test_bounds_cover_the_tiles(sim: CacheSimulator, state: Path) -> None:
    cache = _open(sim, sim.build("a"), state)
    source = cache.map_source()
    e_min, n_min, e_max, n_max = source.bounds_en_m
    tiles = cache.tiles()
    lon_min = min(tile_bounds(t)[0] for t in tiles)
    lon_max = max(tile_bounds(t)[2] for t in tiles)
    frame = EnuFrame(source.frame.origin)
    west = frame.to_enu(LatLonAlt(source.frame.origin.lat_deg, lon_min, source.frame.origin.alt_m))[0]
    east = frame.to_enu(LatLonAlt(source.frame.origin.lat_deg, lon_max, source.frame.origin.alt_m))[0]
    assert e_min <= west + 0.5 and e_max >= east - 0.5
    assert (e_max - e_min) == pytest.approx(3 * 256 * source.native_gsd_m, rel=0.02)


def test_descriptor_index_maps_ids_to_tiles_and_footprints(sim: CacheSimulator, state: Path) -> None:
    cache = _open(sim, sim.build("a"), state)
    index = cache.descriptors()
    assert index is not None and len(index) == 9 and index.dim == 8
    assert index.matrix.dtype == np.float32 and np.allclose(np.linalg.norm(index.matrix, axis=1), 1.0, atol=1e-5)
    assert not index.matrix.flags.writeable
    for i, t in enumerate(index.tiles):
        assert index.ids[i] == descriptor_id(t) and index.row_of(descriptor_id(t)) == i
        e0, n0, e1, n1 = index.footprints_en_m[i]
        assert (e1 - e0) == pytest.approx(256 * cache.map_source().native_gsd_m, rel=0.01)
        lon_min, lat_min, lon_max, lat_max = tile_bounds(t)
        c = cache.frame.to_enu(LatLonAlt((lat_min + lat_max) / 2, (lon_min + lon_max) / 2, cache.frame.origin.alt_m))
        assert e0 < c[0] < e1 and n0 < c[1] < n1


def test_cache_without_descriptors_says_none(sim: CacheSimulator, state: Path) -> None:
    assert _open(sim, sim.build("a", descriptors=False), state).descriptors() is None


def test_unknown_tile_is_a_typed_error(sim: CacheSimulator, state: Path) -> None:
    cache = _open(sim, sim.build("a"), state)
    t = cache.tiles()[0]
    from gps_denied_onboard._types import TileXYZ

    with pytest.raises(TileNotInCacheError):
        cache.read_tile(TileXYZ(t.z, t.x + 100, t.y))


def test_calibration_parses_the_asl_layout() -> None:
    cam = parse_camera_yaml(CAMERA_YAML)
    assert (cam.width, cam.height, cam.fx, cam.cx) == (640, 480, 500.0, 319.5)
    assert cam.distortion == (0.01, -0.002, 0.0, 0.0)
    assert np.allclose(cam.body_from_camera, [[0, -1, 0], [1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize(("text", "key"), [
    (b"resolution: [640]\nintrinsics: [1,1,1,1]\n", "resolution"),
    (b"resolution: [640, 480]\nintrinsics: [1, 1, 1]\n", "intrinsics"),
    (b"resolution: [640, 480]\nintrinsics: [-5, 1, 1, 1]\ndistortion_coefficients: [0,0,0,0]\n", "fx"),
    (b"resolution: [640, 480]\nintrinsics: [1, 1, 1, 1]\ndistortion_model: equidistant\n", "distortion_model"),
    (b"- not a mapping\n", "<document>"),
])
def test_bad_calibration_names_the_key_and_value(text: bytes, key: str) -> None:
    with pytest.raises(CalibrationError) as err:
        parse_camera_yaml(text, "cam.yaml")
    assert err.value.key == key and "cam.yaml" in str(err.value)


def _coordinate_tiles(n: int = 5) -> dict:
    """Tiles whose blue/green channels hold the pixel's column/row inside its tile."""
    import cv2
    from cache_simulator import MARKER

    from gps_denied_onboard._types import TileXYZ, lonlat_to_tile

    centre = lonlat_to_tile(MARKER[1], MARKER[0], Z)
    cols, rows = np.meshgrid(np.arange(256), np.arange(256))
    img = np.dstack([cols, rows, np.full_like(cols, 128)]).astype(np.uint8)
    ok, enc = cv2.imencode(".png", img)
    assert ok
    return {TileXYZ(Z, centre.x + i, centre.y + j): enc.tobytes() for i in range(-(n // 2), n // 2 + 1)
            for j in range(-(n // 2), n // 2 + 1)}


def test_every_patch_pixel_samples_the_exact_mercator_position(sim: CacheSimulator, state: Path) -> None:
    """Check the dense ENU -> mercator mapping against the scalar reference geodesy at
    the corners and edges of a large patch (where a coarse interpolation would drift)."""
    from gps_denied_onboard._types import lonlat_to_pixel

    source = _open(sim, sim.build("coords", tiles=_coordinate_tiles(), descriptors=False), state).map_source()
    w, h, gsd = 600, 400, source.native_gsd_m
    patch = source.read_patch(13.0, -7.0, w, h, gsd)
    assert patch.valid.all()  # well inside the 5x5 tiles: every pixel, edges included, is sampled
    checked = 0
    for u, v in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, 0), (0, h // 2), (317, 211), (w - 1, h // 3)]:
        e, n = patch.pixel_to_en(u, v)
        p = source.frame.to_geodetic((float(e), float(n), 0.0))
        gx, gy = lonlat_to_pixel(p.lon_deg, p.lat_deg, Z)
        fx, fy = (gx - 0.5) % 256, (gy - 0.5) % 256  # expected sample position inside its tile
        if not (1.0 < fx < 254.0 and 1.0 < fy < 254.0):
            continue  # bilinear blends across a tile seam there
        got_x, got_y = float(patch.image[v, u, 0]), float(patch.image[v, u, 1])
        assert abs(got_x - fx) < 0.6 and abs(got_y - fy) < 0.6, (u, v, got_x - fx, got_y - fy)
        checked += 1
    assert checked >= 5


def test_decoded_tile_memory_stays_within_its_budget(sim: CacheSimulator, state: Path) -> None:
    """A long flight reads many tiles: the decoded-tile LRU must plateau at its byte budget."""
    cache = _open(sim, sim.build("lru", tiles=_coordinate_tiles(), descriptors=False), state)
    one_tile = 256 * 256 * 4
    source = cache.map_source(tile_lru_bytes=3 * one_tile)
    reference = cache.map_source()
    gsd = source.native_gsd_m
    for east in np.linspace(-250.0, 250.0, 9):
        for north in np.linspace(-250.0, 250.0, 9):
            patch = source.read_patch(float(east), float(north), 64, 64, gsd)
            assert source.cached_tile_bytes <= 3 * one_tile
            np.testing.assert_array_equal(patch.image, reference.read_patch(float(east), float(north), 64, 64, gsd).image)
    assert source.cached_tile_bytes > 0
    with pytest.raises(ValueError, match="tile_lru_bytes"):
        from gps_denied_onboard.components.c4_map_cache.map_source import CacheMapSource

        CacheMapSource(cache, tile_lru_bytes=0)


def test_concurrent_reads_from_several_threads(sim: CacheSimulator, state: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cache = _open(sim, sim.build("a"), state)
    source = cache.map_source()
    tiles = cache.tiles()

    def work(i: int) -> int:
        for t in tiles:
            cache.read_tile(t)
        return int(source.read_patch(float(i), 0.0, 96, 64, source.native_gsd_m).valid.sum())

    with ThreadPoolExecutor(4) as pool:
        assert all(n == 96 * 64 for n in pool.map(work, range(8)))


@pytest.mark.parametrize("gsd_factor", [1.0, 1.7, 4.0])
def test_patches_inside_coverage_are_fully_valid_wherever_their_edges_fall(sim: CacheSimulator, state: Path, gsd_factor: float) -> None:
    source = _open(sim, sim.build("cov", tiles=_coordinate_tiles(), descriptors=False), state).map_source()
    e0, n0, e1, n1 = source.bounds_en_m
    gsd = gsd_factor * source.native_gsd_m
    half = 100 * gsd
    rng = np.random.default_rng(4)
    for _ in range(40):
        e = float(rng.uniform(e0 + half + 5, e1 - half - 5))
        n = float(rng.uniform(n0 + half + 5, n1 - half - 5))
        patch = source.read_patch(e, n, 200, 200, gsd)
        assert patch.valid.all(), (e, n, int((~patch.valid).sum()))
