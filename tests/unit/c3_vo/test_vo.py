"""C3: ground displacement between consecutive frames, metric via altitude, with refusals
when there is nothing to track."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt, ned_from_camera
from gps_denied_onboard.components.c3_vo import OrthoOdometry
from gps_denied_onboard.components.c7_geo_registration import (
    InMemoryMap,
    orientation_field,
    orthorectify,
    render_view,
    to_gray,
)
from tests.integration.localization_flightgen import synthetic_world_pair

CAM = CameraModel(640, 480, 457.0, 457.0, 319.5, 239.5)
H = 228.5


@pytest.fixture(scope="module")
def world() -> InMemoryMap:
    a, _ = synthetic_world_pair(5)
    return InMemoryMap(a, EnuFrame(LatLonAlt(10.0, 20.0, 0.0)), -450.0, 450.0, 1.0)


def _obs(world: InMemoryMap, e: float, n: float, yaw: float, roll: float = 0.0):
    R = ned_from_camera(roll, 0.0, yaw, CAM.body_from_camera)
    img, _ = render_view(world, CAM, e, n, H, R)
    o = orthorectify(to_gray(img), CAM, R, H, 1.0)
    return o, orientation_field(o.image, o.valid)


@settings(max_examples=10, deadline=None)
@given(de=st.floats(-25, 25), dn=st.floats(-25, 25), yaw=st.floats(-math.pi, math.pi))
def test_displacement_is_metric_and_accurate(world: InMemoryMap, de: float, dn: float, yaw: float) -> None:
    vo = OrthoOdometry()
    assert vo.step(0, *_obs(world, 10.0, -20.0, yaw)) is None and vo.last_reason == "no_previous_frame"
    m = vo.step(100_000_000, *_obs(world, 10.0 + de, -20.0 + dn, yaw + 0.01))
    assert m is not None, vo.last_reason
    assert abs(m.d_east_m - de) < 0.6 and abs(m.d_north_m - dn) < 0.6
    assert m.velocity == pytest.approx((m.d_north_m / 0.1, m.d_east_m / 0.1))
    err = np.array([m.d_north_m - dn, m.d_east_m - de])
    assert float(err @ np.linalg.solve(m.cov_d, err)) < 11.83


def test_blank_ground_is_refused(world: InMemoryMap) -> None:
    rng = np.random.default_rng(0)
    R = ned_from_camera(0, 0, 0, CAM.body_from_camera)
    vo = OrthoOdometry()
    for t in (0, 100_000_000):  # calm water / haze: only sensor noise, different every frame
        flat = np.clip(100 + rng.normal(0, 2, (480, 640)), 0, 255).astype(np.uint8)
        o = orthorectify(flat, CAM, R, H, 1.0)
        m = vo.step(t, o, orientation_field(o.image, o.valid))
    assert m is None and vo.last_reason == "ambiguous"


def test_long_gap_is_not_bridged(world: InMemoryMap) -> None:
    vo = OrthoOdometry()
    vo.step(0, *_obs(world, 0.0, 0.0, 0.0))
    assert vo.step(5_000_000_000, *_obs(world, 1.0, 0.0, 0.0)) is None and vo.last_reason == "gap"
