"""WGS84 / ECEF / ENU conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard._types import EnuFrame, GeoValueError, LatLonAlt, ecef_to_geodetic, geodetic_to_ecef

lats = st.floats(min_value=-89.9, max_value=89.9)
lons = st.floats(min_value=-180.0, max_value=180.0)
alts = st.floats(min_value=-500.0, max_value=10_000.0)


def test_ecef_of_known_points() -> None:
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 0.0, 0.0), [6378137.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef(90.0, 0.0, 0.0), [0.0, 0.0, 6356752.314245], atol=1e-5)
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 90.0, 100.0), [0.0, 6378237.0, 0.0], atol=1e-6)


@settings(max_examples=300, deadline=None)
@given(lats, lons, alts)
def test_geodetic_ecef_round_trip_is_sub_millimetre(lat: float, lon: float, alt: float) -> None:
    lat2, lon2, alt2 = ecef_to_geodetic(geodetic_to_ecef(lat, lon, alt))
    back = geodetic_to_ecef(lat2, lon2, alt2)
    assert np.linalg.norm(back - geodetic_to_ecef(lat, lon, alt)) < 1e-3
    assert abs(alt2 - alt) < 1e-3


@settings(max_examples=300, deadline=None)
@given(lats, lons, alts, st.floats(-50_000, 50_000), st.floats(-50_000, 50_000), st.floats(-1000, 3000))
def test_enu_round_trip_within_50_km(lat: float, lon: float, alt: float, e: float, n: float, u: float) -> None:
    frame = EnuFrame(LatLonAlt(lat, lon, alt))
    point = frame.to_geodetic((e, n, u))
    enu = frame.to_enu(point)
    assert np.linalg.norm(enu - np.array([e, n, u])) < 1e-3


def test_enu_axes_point_east_north_up() -> None:
    frame = EnuFrame(LatLonAlt(47.0, 8.0, 400.0))
    north = frame.to_enu(LatLonAlt(47.001, 8.0, 400.0))
    east = frame.to_enu(LatLonAlt(47.0, 8.001, 400.0))
    assert north[1] == pytest.approx(111.19, abs=0.2) and abs(north[0]) < 1e-6
    # prime-vertical radius N(47°) = 6388838 m: N cos(lat) dlon = 76.06 m
    assert east[0] == pytest.approx(76.06, abs=0.02) and abs(east[1]) < 0.01


@pytest.mark.parametrize(
    ("lat", "lon", "alt", "field"),
    [(91.0, 0.0, 0.0, "lat_deg"), (0.0, 181.0, 0.0, "lon_deg"), (float("nan"), 0.0, 0.0, "lat_deg"),
     (0.0, 0.0, float("inf"), "alt_m")],
)
def test_invalid_positions_name_the_field(lat: float, lon: float, alt: float, field: str) -> None:
    with pytest.raises(GeoValueError) as info:
        LatLonAlt(lat, lon, alt)
    assert info.value.field == field
    assert field in str(info.value)
