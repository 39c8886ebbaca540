"""Camera pose from image <-> ground correspondences on a plane, with the autopilot's
attitude and altitude as priors (maximum a posteriori, Gauss-Newton).

Solving the full pose (position, height, three rotation angles) from the
correspondences means an attitude error in the telemetry does not become a
position error: where the correspondences span the image, perspective pins the
tilt; where they cannot (narrow field of view), the attitude prior's sigma
enters the position covariance honestly instead of being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PoseSolution:
    """Camera centre (east, north, height above ground) in the map's ENU frame, the
    refined camera-to-NED rotation, the 3x3 (east, north, height) covariance,
    per-point residuals in metres and which points were kept as inliers."""

    east_m: float
    north_m: float
    height_m: float
    R_ned_cam: F64
    cov_enh: F64
    residuals_m: F64
    inliers: npt.NDArray[np.bool_]
    chi2_dof: float


def _rot(a: F64) -> F64:
    r, _ = cv2.Rodrigues(np.asarray(a, np.float64).reshape(3, 1))
    return np.asarray(r, np.float64)


def ground_hits(x: F64, rays_cam: F64, R0: F64) -> F64:
    """(N, 2) ground (east, north) of each camera ray for parameters x = [E, N, h, a_n, a_e, a_d]."""
    R = _rot(x[3:6]) @ R0
    d = rays_cam @ R.T
    down = np.maximum(d[:, 2], 1e-6)
    t = x[2] / down
    return np.stack([x[0] + t * d[:, 1], x[1] + t * d[:, 0]], axis=1)


def solve_pose(
    rays_cam: F64,
    ground_en: F64,
    sigma_m: F64,
    east0: float,
    north0: float,
    height0: float,
    R0: F64,
    attitude_sigma_rad: float,
    height_sigma_m: float,
    yaw_sigma_rad: float | None = None,
    iterations: int = 6,
    outlier_sigma: float = 3.0,
) -> PoseSolution:
    """MAP pose: ground residuals weighted by `sigma_m` (robustified with Cauchy weights),
    rotation and height tied to their telemetry values by Gaussian priors. Points beyond
    `outlier_sigma` of the robust residual scale are reported as outliers."""
    n = len(rays_cam)
    x = np.array([east0, north0, height0, 0.0, 0.0, 0.0])
    yaw_s = attitude_sigma_rad if yaw_sigma_rad is None else yaw_sigma_rad
    # rotation perturbation about NED axes: north/east = tilt (roll/pitch), down = heading
    prior_w = np.array([1.0 / height_sigma_m, 1.0 / attitude_sigma_rad, 1.0 / attitude_sigma_rad, 1.0 / yaw_s])
    robust = np.ones(n)
    H = np.eye(6)
    # Iteratively reweighted Gauss-Newton with Cauchy weights from the first step: a wrong
    # block must not get the chance to tilt the solution before it is recognised.
    for it in range(iterations + 4):
        w = robust / sigma_m
        r_pts = ((ground_hits(x, rays_cam, R0) - ground_en) * w[:, None]).ravel()
        r_pri = np.concatenate([[x[2] - height0], x[3:6]]) * prior_w
        r = np.concatenate([r_pts, r_pri])
        J = np.zeros((len(r), 6))
        for j in range(6):
            step = 1e-3 if j < 3 else 1e-5
            xp = x.copy()
            xp[j] += step
            rp = ((ground_hits(xp, rays_cam, R0) - ground_en) * w[:, None]).ravel()
            J[: len(rp), j] = (rp - r_pts) / step
        J[len(r_pts):, 2:] = np.diag(prior_w)
        H = J.T @ J
        try:
            dx = np.linalg.solve(H + 1e-9 * np.eye(6), -J.T @ r)
        except np.linalg.LinAlgError:
            break
        x = x + dx
        norm = np.linalg.norm(ground_hits(x, rays_cam, R0) - ground_en, axis=1) / sigma_m
        scale = max(1.4826 * float(np.median(norm)), 1.0)
        robust = np.sqrt(1.0 / (1.0 + (norm / (2.4 * scale)) ** 2))  # sqrt: weights enter squared
        if it >= 3 and np.abs(dx[:3]).max() < 1e-4 and np.abs(dx[3:]).max() < 1e-7:
            break
    res = np.linalg.norm(ground_hits(x, rays_cam, R0) - ground_en, axis=1)
    norm = res / sigma_m
    scale = max(1.4826 * float(np.median(norm)), 1.0)
    keep = norm <= outlier_sigma * scale
    dof = max(2 * int(keep.sum()) - 2, 1)  # the four priors pin four of the six unknowns
    chi2_dof = float(np.sum(norm[keep] ** 2) / dof)
    try:
        cov = np.asarray(np.linalg.inv(H)[:3, :3], np.float64)
    except np.linalg.LinAlgError:
        cov = np.diag([1e6, 1e6, height_sigma_m**2])
    return PoseSolution(float(x[0]), float(x[1]), float(x[2]), _rot(x[3:6]) @ R0, cov,
                        ground_hits(x, rays_cam, R0) - ground_en, keep, chi2_dof)


def attitude_departure_chi2(R_solved: F64, R_telemetry: F64, attitude_sigma_rad: float,
                            yaw_sigma_rad: float) -> float:
    """How far a solved camera rotation lies from the telemetry's, in units of the
    telemetry prior: chi-square (3 dof) of the rotation vector taking the telemetry
    rotation to the solved one, about the NED axes (north, east: tilt; down: heading),
    the same parametrisation and sigmas as `solve_pose`'s priors."""
    a = cv2.Rodrigues(np.asarray(R_solved, np.float64) @ np.asarray(R_telemetry, np.float64).T)[0].ravel()
    return float((a[0] / attitude_sigma_rad) ** 2 + (a[1] / attitude_sigma_rad) ** 2 + (a[2] / yaw_sigma_rad) ** 2)
