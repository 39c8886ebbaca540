"""Pinhole camera with radial-tangential (OpenCV / ASL `radial-tangential`) distortion.

Pixel convention: (u, v) with the centre of the top-left pixel at (0, 0), as in OpenCV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types.errors import GeoValueError
from gps_denied_onboard._types.rotation import R_BODY_FROM_CAM_NADIR

Array = npt.NDArray[np.float64]


def _nadir_mount() -> tuple[float, ...]:
    t = np.eye(4)
    t[:3, :3] = R_BODY_FROM_CAM_NADIR
    return tuple(float(v) for v in t.ravel())


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics, distortion (k1, k2, p1, p2) and the camera-to-body mount `T_BS`
    (4x4, row-major, 16 values: maps camera coordinates to body coordinates)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    T_BS: tuple[float, ...] = field(default_factory=_nadir_mount)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise GeoValueError("resolution", (self.width, self.height), "positive width and height")
        for name in ("fx", "fy"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise GeoValueError(name, value, "a positive focal length in pixels")
        for name in ("cx", "cy"):
            if not math.isfinite(getattr(self, name)):
                raise GeoValueError(name, getattr(self, name), "a finite principal point")
        if len(self.distortion) != 4 or not all(math.isfinite(d) for d in self.distortion):
            raise GeoValueError("distortion", self.distortion, "4 finite coefficients [k1, k2, p1, p2]")
        if len(self.T_BS) != 16:
            raise GeoValueError("T_BS", self.T_BS, "16 values (4x4 row-major)")
        r = self.body_from_camera
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise GeoValueError("T_BS", self.T_BS, "a rigid transform (rotation part orthonormal, det +1)")

    @property
    def K(self) -> Array:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_coeffs(self) -> Array:
        """OpenCV's distCoeffs order (k1, k2, p1, p2)."""
        return np.array(self.distortion, dtype=np.float64)

    @property
    def T_body_from_camera(self) -> Array:
        return np.array(self.T_BS, dtype=np.float64).reshape(4, 4)

    @property
    def body_from_camera(self) -> Array:
        return self.T_body_from_camera[:3, :3]

    @property
    def camera_offset_body_m(self) -> Array:
        """Camera centre in the body frame (metres)."""
        return self.T_body_from_camera[:3, 3]

    def project(self, points_cam: Array) -> Array:
        """Nx3 points in the camera frame (z > 0) -> Nx2 distorted pixel coordinates."""
        p = np.atleast_2d(np.asarray(points_cam, dtype=np.float64))
        x = p[:, 0] / p[:, 2]
        y = p[:, 1] / p[:, 2]
        k1, k2, p1, p2 = self.distortion
        r2 = x * x + y * y
        radial = 1.0 + k1 * r2 + k2 * r2 * r2
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], axis=1)

    def unproject(self, pixels: Array, iterations: int = 20) -> Array:
        """Nx2 distorted pixels -> Nx3 unit-depth rays (x, y, 1) in the camera frame."""
        uv = np.atleast_2d(np.asarray(pixels, dtype=np.float64))
        xd = (uv[:, 0] - self.cx) / self.fx
        yd = (uv[:, 1] - self.cy) / self.fy
        x, y = xd.copy(), yd.copy()
        k1, k2, p1, p2 = self.distortion
        if any(self.distortion):
            for _ in range(iterations):  # fixed-point inversion, as cv2.undistortPoints
                r2 = x * x + y * y
                radial = 1.0 + k1 * r2 + k2 * r2 * r2
                dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
                dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
                x = (xd - dx) / radial
                y = (yd - dy) / radial
        return np.stack([x, y, np.ones_like(x)], axis=1)

    def scaled(self, width: int, height: int) -> CameraModel:
        """The same camera at another resolution (intrinsics scaled, distortion kept)."""
        sx, sy = width / self.width, height / self.height
        return CameraModel(
            width, height, self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
            self.distortion, self.T_BS,
        )
