"""Raster sources (GeoTIFF any CRS, PNG + world file) reprojected onto the web-mercator grid."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
from rasterio.warp import transform as warp_transform

from gps_denied_onboard._types import TileXYZ, lonlat_to_pixel, tiles_covering
from gps_denied_onboard.components.c11_tile_manager.download import RasterSourceError, RasterTileSource
from tests.testlib.rasters import ORIGIN_E, ORIGIN_N, UTM33, make_geotiff


def _marker_lonlat(col: float, row: float, gsd: float = 0.5) -> tuple[float, float]:
    xs, ys = warp_transform(UTM33, "EPSG:4326", [ORIGIN_E + col * gsd], [ORIGIN_N - row * gsd])
    return xs[0], ys[0]


def _render(src: RasterTileSource, z: int) -> dict[TileXYZ, np.ndarray]:
    lat_min, lon_min, lat_max, lon_max = src.bounds_latlon
    tiles = list(tiles_covering(lat_min, lon_min, lat_max, lon_max, z))
    out = {}
    for t, data, _ in src.fetch(tiles):
        out[t] = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return out


def _marker_centroid(tiles: dict[TileXYZ, np.ndarray]) -> tuple[float, float]:
    pts = []
    for t, img in tiles.items():
        grey = img[:, :, 0].astype(float)
        alpha = img[:, :, 3] if img.shape[2] == 4 else np.full(grey.shape, 255)
        rows, cols = np.nonzero((grey > 200) & (alpha > 127))
        w = grey[rows, cols]
        pts += [(t.x * 256 + c + 0.5, t.y * 256 + r + 0.5, wi) for r, c, wi in zip(rows, cols, w, strict=True)]
    a = np.array(pts)
    return float(np.average(a[:, 0], weights=a[:, 2])), float(np.average(a[:, 1], weights=a[:, 2]))


def test_utm_geotiff_is_reprojected_to_the_right_mercator_pixel(tmp_path: Path) -> None:
    src = RasterTileSource(make_geotiff(tmp_path / "utm.tif", marker_px=(400, 300)))
    z = src.native_zoom(src.bounds_latlon)
    assert z == 18  # 0.5 m/px at 45.5 N -> zoom 18 (0.42 m/px)
    lon, lat = _marker_lonlat(400, 300)  # the marker's centre is the corner between px 399/400
    ex, ey = lonlat_to_pixel(lon, lat, z)
    gx, gy = _marker_centroid(_render(src, z))
    assert abs(gx - ex) < 1.0 and abs(gy - ey) < 1.0, (gx - ex, gy - ey)


def test_png_with_world_file_and_prj_is_a_source(tmp_path: Path) -> None:
    tif = make_geotiff(tmp_path / "m.tif", marker_px=(200, 200), size=400)
    with rasterio.open(tif) as ds:
        img = ds.read()
    png = tmp_path / "m.png"
    cv2.imwrite(str(png), img.transpose(1, 2, 0)[:, :, ::-1])
    (tmp_path / "m.pgw").write_text(f"0.5\n0\n0\n-0.5\n{ORIGIN_E + 0.25}\n{ORIGIN_N - 0.25}\n")
    no_crs = RasterTileSource  # without .prj there is no CRS: the operator must say it
    with pytest.raises(RasterSourceError, match="no CRS"):
        no_crs(png)
    src = RasterTileSource(png, crs=UTM33)
    (tmp_path / "m.prj").write_text(rasterio.crs.CRS.from_string(UTM33).to_wkt())
    src_prj = RasterTileSource(png)
    for s in (src, src_prj):
        z = s.native_zoom(s.bounds_latlon)
        lon, lat = _marker_lonlat(200, 200)
        ex, ey = lonlat_to_pixel(lon, lat, z)
        gx, gy = _marker_centroid(_render(s, z))
        assert abs(gx - ex) < 1.0 and abs(gy - ey) < 1.0


def test_edge_tiles_carry_alpha_and_tiles_outside_are_omitted(tmp_path: Path) -> None:
    src = RasterTileSource(make_geotiff(tmp_path / "a.tif", marker_px=None, size=300))
    lat_min, lon_min, lat_max, lon_max = src.bounds_latlon
    z = 18
    ring = list(tiles_covering(lat_min - 0.003, lon_min - 0.003, lat_max + 0.003, lon_max + 0.003, z))
    got = {t: (data, valid) for t, data, valid in src.fetch(ring)}
    assert 0 < len(got) < len(ring)
    partial = [t for t, (_, v) in got.items() if not v.all()]
    assert partial
    img = cv2.imdecode(np.frombuffer(got[partial[0]][0], np.uint8), cv2.IMREAD_UNCHANGED)
    assert img.shape == (256, 256, 4) and (img[:, :, 3] == 0).any() and (img[:, :, 3] == 255).any()


def test_identity_tracks_raster_bytes_not_paths(tmp_path: Path) -> None:
    a = make_geotiff(tmp_path / "a.tif", size=200)
    tiles = [TileXYZ(18, 1, 1)]
    ident = RasterTileSource(a).identity(tiles)
    (tmp_path / "b").mkdir()
    shutil.copy(a, tmp_path / "b" / "a.tif")
    assert RasterTileSource(tmp_path / "b" / "a.tif").identity(tiles) == ident
    make_geotiff(a, size=200, seed=1)
    assert RasterTileSource(a).identity(tiles) != ident


def test_sixteen_bit_raster_is_refused_with_the_dtype(tmp_path: Path) -> None:
    with pytest.raises(RasterSourceError, match="8-bit") as err:
        RasterTileSource(make_geotiff(tmp_path / "u16.tif", dtype="uint16", size=64))
    assert "uint16" in str(err.value.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(RasterSourceError) as err:
        RasterTileSource(tmp_path / "nope.tif")
    assert "nope.tif" in err.value.path


@pytest.mark.slow
def test_real_crossdate_png_with_world_file_renders(shared_data: Path) -> None:
    pair = next(p for p in sorted((shared_data / "crossdate").iterdir()) if (p / "A.png").exists())
    src = RasterTileSource(pair / "A.png")
    z = src.native_zoom(src.bounds_latlon)
    tiles = _render(src, z)
    assert len(tiles) >= 4
    assert all(img.shape[:2] == (256, 256) for img in tiles.values())


def test_jpeg_tiles_for_full_coverage_png_for_partial(tmp_path: Path) -> None:
    src = RasterTileSource(make_geotiff(tmp_path / "j.tif", marker_px=(400, 300)), tile_format="jpeg")
    lat_min, lon_min, lat_max, lon_max = src.bounds_latlon
    kinds = set()
    for _, data, valid in src.fetch(list(tiles_covering(lat_min, lon_min, lat_max, lon_max, 18))):
        kind = "jpeg" if data[:2] == b"\xff\xd8" else "png" if data[:4] == b"\x89PNG" else "?"
        assert kind == ("jpeg" if valid.all() else "png")
        kinds.add(kind)
    assert kinds == {"jpeg", "png"}
    lon, lat = _marker_lonlat(400, 300)
    ex, ey = lonlat_to_pixel(lon, lat, 18)
    gx, gy = _marker_centroid(_render(src, 18))
    assert abs(gx - ex) < 1.0 and abs(gy - ey) < 1.0
    assert RasterTileSource(tmp_path / "j.tif").identity([]) != src.identity([])
