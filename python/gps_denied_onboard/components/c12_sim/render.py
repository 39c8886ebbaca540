"""Rendering camera frames by projecting the ground from a georeferenced image.

For every output pixel the (distorted) ray through it is unprojected with the
`CameraModel`, rotated to NED with `ned_from_camera` (the same functions the
localizer uses), intersected with the flat ground at the map's ground altitude,
and looked up in the flight-date raster through the raster's ENU mapping.
Anti-aliasing: 2x2 supersampling, sampling a Gaussian pyramid level matched to
the ground footprint of a supersample (mip-mapping), then area-averaging down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, ned_from_body, ned_from_camera
from gps_denied_onboard.components.c12_sim.georaster import GeoRaster

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


def camera_pose(pos_enu: F64, rpy: F64, camera: CameraModel) -> tuple[F64, F64]:
    """(camera centre in NED metres relative to the ENU origin at ground level,
    R_ned_from_cam) for a body at `pos_enu` (east, north, height) with attitude `rpy`."""
    roll, pitch, yaw = (float(v) for v in rpy)
    body_ned = np.array([pos_enu[1], pos_enu[0], -pos_enu[2]], dtype=np.float64)
    centre = body_ned + ned_from_body(roll, pitch, yaw) @ camera.camera_offset_body_m
    return centre, ned_from_camera(roll, pitch, yaw, camera.body_from_camera)


def project_ground(east: F64, north: F64, pos_enu: F64, rpy: F64, camera: CameraModel) -> tuple[F64, F64]:
    """Image pixels (u, v) of ground points (height 0) seen from the pose; NaN behind the camera."""
    centre, r_nc = camera_pose(pos_enu, rpy, camera)
    pts = np.stack([np.asarray(north, float), np.asarray(east, float), np.zeros_like(np.asarray(east, float))], -1)
    cam = (pts - centre) @ r_nc  # rows: R^T (p - c)
    uv = camera.project(np.where(cam[:, 2:3] > 1e-9, cam, np.nan))
    return uv[:, 0], uv[:, 1]


@dataclass(eq=False)
class Renderer:
    """Renders frames of `camera` over `raster` (the flight-date image).

    Supersampling (`max_supersample` x `max_supersample` rays per pixel) is used
    only where a frame pixel covers more ground than a raster pixel; when the
    camera magnifies the raster there is nothing to alias and one ray per pixel
    gives the same image four times faster.
    """

    raster: GeoRaster
    camera: CameraModel
    max_supersample: int = 2
    _rays: dict[int, F64] = field(init=False, repr=False, default_factory=dict)
    _pyramid: list[U8] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        img = self.raster.image
        self._pyramid = [img]
        while min(self._pyramid[-1].shape[:2]) > 32 and len(self._pyramid) < 8:
            self._pyramid.append(cv2.pyrDown(self._pyramid[-1]))

    def _rays_for(self, ss: int) -> F64:
        if ss not in self._rays:
            w, h = self.camera.width, self.camera.height
            # Sub-pixel sample positions: ss x ss per output pixel, centred in it.
            us = (np.arange(w * ss) + 0.5) / ss - 0.5
            vs = (np.arange(h * ss) + 0.5) / ss - 0.5
            uu, vv = np.meshgrid(us, vs)
            self._rays[ss] = self.camera.unproject(np.stack([uu.ravel(), vv.ravel()], axis=1))
        return self._rays[ss]

    def frame_gsd_m(self, pos_enu: F64, rpy: F64) -> float:
        """Ground size of one frame pixel at the image centre (metres)."""
        centre, r_nc = camera_pose(pos_enu, rpy, self.camera)
        ray = r_nc @ self.camera.unproject(np.array([[self.camera.cx, self.camera.cy]]))[0]
        unit = ray / np.linalg.norm(ray)
        if unit[2] <= 1e-3:
            return float("inf")
        range_m = -centre[2] / unit[2]
        return float(range_m / self.camera.fx / unit[2])

    def render(self, pos_enu: F64, rpy: F64) -> tuple[U8, float]:
        """The frame (BGR uint8) seen from a body pose, and its ground sample distance (m/px)
        at the image centre. Pixels whose ray misses the ground or the raster are black."""
        gsd_frame = self.frame_gsd_m(pos_enu, rpy)
        ratio = gsd_frame / self.raster.mean_gsd_m
        if not math.isfinite(ratio):  # the centre ray misses the ground: no footprint to match
            ratio = 1.0
        ss = self.max_supersample if ratio > 0.7 else 1
        w, h = self.camera.width * ss, self.camera.height * ss
        centre, r_nc = camera_pose(pos_enu, rpy, self.camera)
        rays = self._rays_for(ss) @ r_nc.T
        down = rays[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(down > 1e-6, -centre[2] / down, np.nan)
        north = centre[0] + s * rays[:, 0]
        east = centre[1] + s * rays[:, 1]
        col, row = self.raster.en_to_pixel(east, north)
        scale = ratio / ss  # raster pixels per supersample
        level = int(min(len(self._pyramid) - 1, max(0, math.floor(math.log2(scale))))) if scale > 1 else 0
        f = 2.0**level
        map_x = np.nan_to_num(col / f, nan=-1e6).reshape(h, w).astype(np.float32)
        map_y = np.nan_to_num(row / f, nan=-1e6).reshape(h, w).astype(np.float32)
        big = cv2.remap(self._pyramid[level], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=(0, 0, 0))
        if ss > 1:
            big = cv2.resize(big, (self.camera.width, self.camera.height), interpolation=cv2.INTER_AREA)
        return big, gsd_frame

    def footprint_radius_m(self, agl_m: float, max_tilt_rad: float) -> float:
        """Worst-case horizontal distance from the body to a ground point seen by a corner pixel."""
        corners = self.camera.unproject(
            np.array([[0, 0], [self.camera.width - 1, 0], [0, self.camera.height - 1],
                      [self.camera.width - 1, self.camera.height - 1]], dtype=np.float64)
        )
        off = max(math.hypot(r[0], r[1]) for r in corners)
        half_angle = math.atan(off) + max_tilt_rad
        if half_angle >= math.radians(80):
            return float("inf")
        return agl_m * math.tan(half_angle) + float(np.linalg.norm(self.camera.camera_offset_body_m))
