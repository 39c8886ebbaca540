"""Camera model and frame rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard._types import (
    R_BODY_FROM_CAM_NADIR,
    CameraModel,
    GeoValueError,
    euler_zyx_from_ned_body,
    ned_from_body,
    ned_from_camera,
)

angles = st.floats(-math.pi + 1e-6, math.pi)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), angles)
def test_euler_round_trip(roll: float, pitch: float, yaw: float) -> None:
    r = ned_from_body(roll, pitch, yaw)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    r2 = ned_from_body(*euler_zyx_from_ned_body(r))
    np.testing.assert_allclose(r2, r, atol=1e-9)


def test_yaw_90_points_nose_east_and_roll_right_lowers_right_wing() -> None:
    np.testing.assert_allclose(ned_from_body(0.0, 0.0, math.pi / 2) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    # Rolling right (positive roll): the right wing (body +y) goes down (NED +z).
    assert (ned_from_body(0.3, 0.0, 0.0) @ [0, 1, 0])[2] > 0


def test_nadir_camera_looks_down_with_image_top_to_the_nose() -> None:
    r = ned_from_camera(0.0, 0.0, 0.0, R_BODY_FROM_CAM_NADIR)
    np.testing.assert_allclose(r @ [0, 0, 1], [0, 0, 1])  # optical axis -> down
    np.testing.assert_allclose(r @ [0, -1, 0], [1, 0, 0])  # image up -> north (nose)
    np.testing.assert_allclose(r @ [1, 0, 0], [0, 1, 0])  # image right -> east


def _camera(dist: tuple[float, float, float, float] = (-0.12, 0.03, 0.001, -0.0005)) -> CameraModel:
    return CameraModel(640, 480, 500.0, 502.0, 319.5, 239.5, dist)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 639), st.floats(0, 479))
def test_unproject_inverts_project(u: float, v: float) -> None:
    cam = _camera()
    ray = cam.unproject(np.array([[u, v]]))
    np.testing.assert_allclose(cam.project(ray * 7.0), [[u, v]], atol=1e-6)


def test_project_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    cam = _camera()
    pts = np.array([[0.1, -0.2, 1.0], [-0.3, 0.25, 2.0], [0.0, 0.0, 5.0]])
    ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), cam.K, cam.dist_coeffs)
    np.testing.assert_allclose(cam.project(pts), ref.reshape(-1, 2), atol=1e-9)


def test_invalid_camera_names_the_field() -> None:
    with pytest.raises(GeoValueError, match="fx"):
        CameraModel(640, 480, -1.0, 500.0, 320.0, 240.0)
    with pytest.raises(GeoValueError, match="T_BS"):
        CameraModel(640, 480, 500.0, 500.0, 320.0, 240.0, T_BS=tuple([2.0] + [0.0] * 15))


def test_scaled_keeps_the_field_of_view() -> None:
    cam = _camera((0.0, 0.0, 0.0, 0.0)).scaled(320, 240)
    assert cam.fx == pytest.approx(250.0)
    assert cam.cx == pytest.approx(159.5)
