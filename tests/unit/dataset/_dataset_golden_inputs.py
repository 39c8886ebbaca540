"""The fixed inputs the golden files in golden/ were written from (shared by the tests)."""

from __future__ import annotations

import numpy as np

from gps_denied_onboard._types import CameraModel
from gps_denied_onboard.dataset import FixRow, FlightMeta, TrackRow

CAMERA = CameraModel(32, 24, 30.0, 30.5, 15.5, 11.75, (-0.05, 0.01, 0.001, -0.0005))
META = FlightMeta("gdn-flight/1", "fixed_wing", 212.5, "golden flight", map="../map.tif", extra={"sim": {"seed": 7}})
T_NS = np.array([1_000_000_000, 1_100_000_000, 1_200_000_000], dtype=np.int64)
ATTITUDE = np.array([[0.01, -0.02, 3.1], [0.015, -0.021, -3.12], [0.02, -0.022, -3.05]])
ALTITUDE = np.array([[120.0, 332.5], [120.25, 332.75], [120.5, 333.0]])
IMU = np.array([[0.001, 0.002, 0.003, 0.1, -0.2, -9.81]] * 3)
PRIOR = np.array([[47.5, 19.25, 25.0], [47.5001, 19.2501, 25.0], [47.5002, 19.2502, 25.0]])
GROUNDTRUTH = np.array(
    [
        [47.500012345678, 19.250087654321, 332.4, 0.011, -0.019, 3.1],
        [47.500112345678, 19.250187654321, 332.6, 0.016, -0.02, -3.12],
        [47.500212345678, 19.250287654321, 332.9, 0.021, -0.023, -3.05],
    ]
)
TRACK = [
    TrackRow(1_000_000_000, 47.5, 19.25, 332.5, 1.5, -0.25, 0.0, 4.0, 0.5, 9.0, "fix", "ok"),
    TrackRow(1_100_000_000, 47.50001, 19.25001, 332.5, 1.5, -0.25, 0.0, 4.5, 0.5, 9.5, "vo", "degraded"),
    TrackRow(1_200_000_000, float("nan"), float("nan"), float("nan"), 0.0, 0.0, 0.0, float("nan"), float("nan"),
             float("nan"), "none", "lost"),
]
FIXES = [
    FixRow(1_000_000_000, 47.5, 19.25, 4.0, 0.5, 9.0, True, ""),
    FixRow(1_100_000_000, float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), False,
           "too few inliers, 7 < 12"),
]


def image(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.integers(0, 256, size=(CAMERA.height, CAMERA.width, 3), dtype=np.uint8)
