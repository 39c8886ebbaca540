"""GeoRasterMap: any georeferenced raster becomes a north-up, square-metre ENU map whose
pixels sit exactly where their georeference says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from gps_denied_onboard._types import LatLonAlt, MapSource
from gps_denied_onboard.components.c7_geo_registration import GeoRasterMap, MapLoadError


def _write(path: Path, img: np.ndarray, crs: str | None, transform: object) -> Path:
    kw = {"crs": crs} if crs else {}
    with rasterio.open(path, "w", driver="GTiff", height=img.shape[0], width=img.shape[1], count=1, dtype="uint8",
                       transform=transform, **kw) as dst:
        dst.write(img[None])
    return path


def _dot_image(h: int, w: int, x: int, y: int) -> np.ndarray:
    img = np.zeros((h, w), np.uint8)
    img[y, x] = 255
    return img


@pytest.mark.parametrize(
    ("crs", "transform"),
    [
        ("EPSG:32634", from_origin(372000.0, 5277000.0, 1.5, 1.5)),  # UTM, square pixels
        ("EPSG:4326", from_origin(19.30, 47.63, 2e-5, 1.2e-5)),       # equal-degree, non-square on the ground
    ],
)
def test_a_pixel_lands_where_its_georeference_says(tmp_path: Path, crs: str, transform: object) -> None:
    x, y = 123, 77
    path = _write(tmp_path / "m.tif", _dot_image(200, 300, x, y), crs, transform)
    m = GeoRasterMap(path)
    assert isinstance(m, MapSource)
    with rasterio.open(path) as src:
        from rasterio.warp import transform as warp

        px, py = src.transform @ (x + 0.5, y + 0.5)
        lon, lat = warp(src.crs, "EPSG:4326", [px], [py])
    e, n, _ = m.frame.to_enu(LatLonAlt(lat[0], lon[0], 0.0))
    g = m.native_gsd_m
    patch = m.read_patch(e, n, 21, 21, g)
    iy, ix = np.unravel_index(int(np.argmax(patch.image)), patch.image.shape[:2])
    assert abs(ix - 10) <= 1 and abs(iy - 10) <= 1
    assert patch.valid[10, 10]


def test_equal_degree_raster_gets_the_finer_metric_pixel(tmp_path: Path) -> None:
    m = GeoRasterMap(_write(tmp_path / "d.tif", np.full((100, 100), 7, np.uint8), "EPSG:4326",
                            from_origin(2.31, 48.84, 1.16e-4, 1.16e-4)))
    # at 48.8 N a degree of longitude is ~0.66 of a degree of latitude
    assert m.native_gsd_m == pytest.approx(1.16e-4 * 111_320 * np.cos(np.radians(48.84)), rel=0.02)
    e0, n0, e1, n1 = m.bounds_en_m
    assert (n1 - n0) == pytest.approx(100 * 1.16e-4 * 111_200, rel=0.02)


def test_outside_the_map_is_invalid_not_an_error(tmp_path: Path) -> None:
    m = GeoRasterMap(_write(tmp_path / "m.tif", np.full((50, 50), 9, np.uint8), "EPSG:32634",
                            from_origin(372000.0, 5277000.0, 1.0, 1.0)))
    p = m.read_patch(10_000.0, 10_000.0, 16, 16, 1.0)
    assert not p.valid.any() and not p.image.any()


def test_raster_without_crs_is_a_typed_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "nocrs.tif", np.zeros((10, 10), np.uint8), None, from_origin(0, 10, 1, 1))
    with pytest.raises(MapLoadError) as info:
        GeoRasterMap(path)
    assert "CRS" in str(info.value) and info.value.path == str(path)


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(MapLoadError):
        GeoRasterMap(tmp_path / "absent.tif")


def test_shared_pair_opens_through_its_world_file(shared_data: Path) -> None:
    m = GeoRasterMap(shared_data / "crossdate" / "sztaki_szada_1" / "im1.png")
    e0, n0, e1, n1 = m.bounds_en_m
    assert m.native_gsd_m == pytest.approx(1.5, rel=0.01)
    # UTM grid north is ~1.3 degrees off true north there: the ENU bounding box is a little larger
    assert e1 - e0 == pytest.approx(952 * 1.5, rel=0.04) and n1 - n0 == pytest.approx(640 * 1.5, rel=0.04)
