"""Raster <-> local ENU mapping: exact geodesy reproduced by the fitted polynomials,
checked at random points (hypothesis) on a UTM and an equal-degree raster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _c12_helpers import write_raster
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard.components.c12_sim import GeoRaster, RasterError, load_georaster

GRIDS = {
    "utm": ("EPSG:32634", (372000.0, 1.5, 0.0, 5276000.0, 0.0, -1.5)),
    "wgs84": ("EPSG:4326", (2.31, 1.164e-4, 0.0, 48.845, 0.0, -1.163e-4)),  # OSCD-like 8.5 x 12.9 m pixels
}


@pytest.fixture(scope="module")
def rasters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeoRaster]:
    d = tmp_path_factory.mktemp("r")
    img = np.full((640, 900, 3), 90, np.uint8)
    return {k: load_georaster(write_raster(d / f"{k}.tif", img, crs, gt), ground_alt_m=300.0)
            for k, (crs, gt) in GRIDS.items()}


def _exact_en(raster: GeoRaster, kind: str, col: float, row: float) -> tuple[float, float]:
    from rasterio.warp import transform as warp

    crs, (x0, dx, _, y0, _, dy) = GRIDS[kind]
    x, y = x0 + dx * (col + 0.5), y0 + dy * (row + 0.5)
    if crs != "EPSG:4326":
        lon, lat = warp(crs, "EPSG:4326", [x], [y])
        x, y = lon[0], lat[0]
    v = raster.frame.to_enu(LatLonAlt(y, x, raster.frame.origin.alt_m))
    return float(v[0]), float(v[1])


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(sorted(GRIDS)), col=st.floats(-20.0, 920.0), row=st.floats(-20.0, 660.0))
def test_pixel_enu_mapping_matches_exact_geodesy(rasters: dict[str, GeoRaster], kind: str, col: float,
                                                 row: float) -> None:
    r = rasters[kind]
    e, n = r.pixel_to_en(col, row)
    ee, en = _exact_en(r, kind, col, row)
    gsd = min(r.gsd_m)
    assert abs(float(e) - ee) < 1e-3 * gsd and abs(float(n) - en) < 1e-3 * gsd
    c2, r2 = r.en_to_pixel(ee, en)
    assert abs(float(c2) - col) < 1e-3 and abs(float(r2) - row) < 1e-3


def test_pixel_size_and_bounds(rasters: dict[str, GeoRaster]) -> None:
    utm, geo = rasters["utm"], rasters["wgs84"]
    assert utm.gsd_m == pytest.approx((1.5, 1.5), rel=1e-3)  # UTM scale factor near the zone edge
    gx, gy = geo.gsd_m
    assert gx == pytest.approx(8.55, rel=0.01) and gy == pytest.approx(12.93, rel=0.01)
    assert geo.mean_gsd_m == pytest.approx(np.sqrt(gx * gy))
    for r in (utm, geo):
        e0, n0, e1, n1 = r.inner_bounds_en()
        cols, rows = r.en_to_pixel(np.array([e0, e1, e0, e1]), np.array([n0, n0, n1, n1]))
        # The ENU box lies inside the raster (the UTM grid is rotated by the meridian convergence)...
        assert np.all(cols >= -1e-6) and np.all(cols <= r.width - 1 + 1e-6)
        assert np.all(rows >= -1e-6) and np.all(rows <= r.height - 1 + 1e-6)
        # ...and is nearly all of it.
        px, py = r.gsd_m
        assert (e1 - e0) * (n1 - n0) > 0.9 * (r.width - 1) * (r.height - 1) * px * py


def test_raster_without_georeference_is_refused(tmp_path: Path) -> None:
    import cv2

    p = tmp_path / "plain.png"
    cv2.imwrite(str(p), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(RasterError) as err:
        load_georaster(p)
    assert err.value.path == p
    with pytest.raises(RasterError):
        load_georaster(tmp_path / "absent.tif")
