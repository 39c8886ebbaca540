"""Rotations between the frames the project uses.

Frames: local NED (north, east, down); body FRD (forward, right, down); camera
(OpenCV: x right, y down, z along the optical axis). Attitude follows MAVLink
ATTITUDE: ZYX Euler angles (yaw about down, then pitch, then roll) of body
relative to NED, so  R_ned_from_body = Rz(yaw) @ Ry(pitch) @ Rx(roll).
`T_BS` (dataset camera mount) maps camera coordinates into body coordinates.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Mat3 = npt.NDArray[np.float64]

# A nadir camera with the top of the image toward the nose (DESIGN §5).
R_BODY_FROM_CAM_NADIR: Mat3 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def rot_x(angle_rad: float) -> Mat3:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle_rad: float) -> Mat3:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle_rad: float) -> Mat3:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def ned_from_body(roll_rad: float, pitch_rad: float, yaw_rad: float) -> Mat3:
    """R such that v_ned = R @ v_body for MAVLink ZYX Euler attitude."""
    return rot_z(yaw_rad) @ rot_y(pitch_rad) @ rot_x(roll_rad)


def euler_zyx_from_ned_body(r: Mat3) -> tuple[float, float, float]:
    """(roll, pitch, yaw) in radians from R_ned_from_body; yaw in (-pi, pi]."""
    pitch = -math.asin(max(-1.0, min(1.0, float(r[2, 0]))))
    roll = math.atan2(float(r[2, 1]), float(r[2, 2]))
    yaw = math.atan2(float(r[1, 0]), float(r[0, 0]))
    return roll, pitch, yaw


def ned_from_camera(roll_rad: float, pitch_rad: float, yaw_rad: float, body_from_camera: Mat3) -> Mat3:
    """R such that v_ned = R @ v_cam, given the attitude and the camera mount rotation."""
    return ned_from_body(roll_rad, pitch_rad, yaw_rad) @ body_from_camera


# ENU <-> NED axis swap (its own inverse).
NED_FROM_ENU: Mat3 = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
