"""Web-mercator tile math."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gps_denied_onboard._types import (
    GeoValueError,
    TileXYZ,
    ground_resolution_m_per_px,
    lonlat_to_pixel,
    lonlat_to_tile,
    pixel_to_lonlat,
    tile_bounds,
    tiles_covering,
    tms_to_xyz,
    xyz_to_tms,
)


def test_known_tiles() -> None:
    # Zurich main station at z=15: y from ln(tan + sec), an independent form of the formula.
    assert lonlat_to_tile(8.5402, 47.3782, 15) == TileXYZ(15, 17161, 11474)
    assert lonlat_to_tile(0.0, 0.0, 1) == TileXYZ(1, 1, 1)
    assert lonlat_to_tile(-180.0, 85.0, 0) == TileXYZ(0, 0, 0)


def test_tms_flip() -> None:
    t = TileXYZ(3, 2, 1)
    assert xyz_to_tms(t) == (3, 2, 6)
    assert tms_to_xyz(*xyz_to_tms(t)) == t


@given(st.floats(-179.9, 179.9), st.floats(-85.0, 85.0), st.integers(0, 22))
def test_pixel_round_trip(lon: float, lat: float, z: int) -> None:
    px, py = lonlat_to_pixel(lon, lat, z)
    lon2, lat2 = pixel_to_lonlat(px, py, z)
    assert lon2 == pytest.approx(lon, abs=1e-9)
    assert lat2 == pytest.approx(lat, abs=1e-9)


@given(st.floats(-179.9, 179.9), st.floats(-85.0, 85.0), st.integers(0, 20))
def test_point_lies_in_its_tile(lon: float, lat: float, z: int) -> None:
    lon_min, lat_min, lon_max, lat_max = tile_bounds(lonlat_to_tile(lon, lat, z))
    assert lon_min - 1e-9 <= lon <= lon_max + 1e-9
    assert lat_min - 1e-9 <= lat <= lat_max + 1e-9


def test_tiles_covering_bbox() -> None:
    tiles = list(tiles_covering(47.37, 8.53, 47.38, 8.55, 15))
    xs = {t.x for t in tiles}
    ys = {t.y for t in tiles}
    assert len(tiles) == len(xs) * len(ys)
    assert lonlat_to_tile(8.54, 47.375, 15) in tiles


def test_ground_resolution_at_equator() -> None:
    assert ground_resolution_m_per_px(0.0, 0) == pytest.approx(156543.03, rel=1e-6)


def test_invalid_tiles_and_latitudes() -> None:
    with pytest.raises(GeoValueError):
        TileXYZ(2, 4, 0)
    with pytest.raises(GeoValueError, match="web-mercator"):
        lonlat_to_tile(0.0, 86.0, 3)
