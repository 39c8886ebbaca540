"""Rendering geometry: ground points projected with the true pose land where the
rendered frame shows them, to a fraction of a pixel, with distortion, a tilted
and offset camera mount, an attitude and both metric and geographic rasters.

The expected pixel is computed independently of the renderer: raster pixel ->
CRS (rasterio affine) -> WGS84 (PROJ) -> ENU (core EnuFrame) -> camera (core
ned_from_body / ned_from_camera / CameraModel.project)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _c12_helpers import dot_raster, write_raster

from gps_denied_onboard._types import LatLonAlt, ned_from_body, ned_from_camera
from gps_denied_onboard.components.c12_sim import CameraSpec, Renderer, load_georaster

CAMERA = CameraSpec(width=320, height=240, hfov_deg=60.0, distortion=(-0.12, 0.03, 0.001, -0.0007),
                    principal_offset_px=(4.0, -3.0), mount_offset_m=(0.3, 0.1, 0.2), mount_tilt_deg=(3.0, -2.0)).model()

RASTERS = {
    # 0.5 m square pixels in UTM 34N.
    "utm": ("EPSG:32634", (372000.0, 0.5, 0.0, 5276000.0, 0.0, -0.5)),
    # Equal-degree grid: 0.55 m x 0.48 m pixels, as the LEVIR / OSCD pairs.
    "wgs84": ("EPSG:4326", (-98.0, 5.7e-6, 0.0, 30.16, 0.0, -4.33e-6)),
}
POSES = {
    # (east, north, height above ground) and (roll, pitch, yaw)
    "magnified": ((12.0, -7.0, 110.0), (0.06, -0.09, 0.7)),
    "supersampled": ((-5.0, 9.0, 260.0), (-0.1, 0.05, -2.4)),
}


def _expected_uv(raster, dots, pos, rpy):  # type: ignore[no-untyped-def]
    from rasterio.transform import Affine
    from rasterio.warp import transform as warp

    with __import__("rasterio").open(raster.path) as ds:
        a: Affine = ds.transform
        crs = ds.crs.to_string()
    cols = np.array([c for c, _ in dots], float)
    rows = np.array([r for _, r in dots], float)
    xs = a.c + a.a * (cols + 0.5) + a.b * (rows + 0.5)
    ys = a.f + a.d * (cols + 0.5) + a.e * (rows + 0.5)
    if crs != "EPSG:4326":
        lon, lat = warp(crs, "EPSG:4326", xs.tolist(), ys.tolist())
    else:
        lon, lat = xs, ys
    alt = raster.frame.origin.alt_m
    enu = np.array([raster.frame.to_enu(LatLonAlt(la, lo, alt)) for la, lo in zip(lat, lon, strict=True)])
    ground_ned = np.stack([enu[:, 1], enu[:, 0], np.zeros(len(enu))], axis=1)  # flat ground at the origin height
    body_ned = np.array([pos[1], pos[0], -pos[2]])
    roll, pitch, yaw = rpy
    centre = body_ned + ned_from_body(roll, pitch, yaw) @ CAMERA.camera_offset_body_m
    r_nc = ned_from_camera(roll, pitch, yaw, CAMERA.body_from_camera)
    cam = (ground_ned - centre) @ r_nc
    return CAMERA.project(cam)


def _centroid(img: np.ndarray, u: float, v: float, r: int = 6) -> tuple[float, float] | None:
    g = img[..., 1].astype(np.float64)
    u0, v0 = int(round(u)), int(round(v))
    if u0 - r < 0 or v0 - r < 0 or u0 + r >= g.shape[1] or v0 + r >= g.shape[0]:
        return None
    win = g[v0 - r:v0 + r + 1, u0 - r:u0 + r + 1] - 20.0
    win = np.clip(win, 0, None)
    if win.sum() < 200:
        return None
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return u0 + float((win * xx).sum() / win.sum()), v0 + float((win * yy).sum() / win.sum())


@pytest.mark.parametrize("raster_kind", sorted(RASTERS))
@pytest.mark.parametrize("pose_kind", sorted(POSES))
def test_ground_points_land_where_the_frame_shows_them(tmp_path: Path, raster_kind: str, pose_kind: str) -> None:
    crs, gt = RASTERS[raster_kind]
    image, dots = dot_raster(1400, 28)
    path = write_raster(tmp_path / "dots.tif", image, crs, gt)
    raster = load_georaster(path, ground_alt_m=150.0)
    pos, rpy = POSES[pose_kind]
    renderer = Renderer(raster, CAMERA)
    frame, _ = renderer.render(np.array(pos), np.array(rpy))
    expected = _expected_uv(raster, dots, pos, rpy)
    errors = []
    for u, v in expected:
        if not (np.isfinite(u) and 10 < u < CAMERA.width - 10 and 10 < v < CAMERA.height - 10):
            continue
        got = _centroid(frame, u, v)
        if got is not None:
            errors.append(np.hypot(got[0] - u, got[1] - v))
    assert len(errors) >= 15, "too few dots in view to judge the geometry"
    assert np.median(errors) < 0.05
    assert max(errors) < 0.1, f"worst dot off by {max(errors):.3f} px"


def test_a_wrong_pose_is_detected(tmp_path: Path) -> None:
    """The same check fails when the expected pose is off by one degree of yaw (the test can fail)."""
    crs, gt = RASTERS["utm"]
    image, dots = dot_raster(1400, 28)
    raster = load_georaster(write_raster(tmp_path / "dots.tif", image, crs, gt), ground_alt_m=150.0)
    pos, rpy = POSES["magnified"]
    frame, _ = Renderer(raster, CAMERA).render(np.array(pos), np.array(rpy))
    expected = _expected_uv(raster, dots, pos, (rpy[0], rpy[1], rpy[2] + np.radians(1.0)))
    offs = [np.hypot(g[0] - u, g[1] - v) for u, v in expected if np.isfinite(u) and 10 < u < 310 and 10 < v < 230
            and (g := _centroid(frame, u, v, r=8)) is not None]
    assert np.median(offs) > 0.5
