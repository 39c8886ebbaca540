"""Shared fixtures: a procedural cross-date world as in-memory maps."""

from __future__ import annotations

import pytest

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt
from gps_denied_onboard.components.c7_geo_registration import InMemoryMap
from tests.integration.localization_flightgen import synthetic_world_pair


@pytest.fixture(scope="session")
def world() -> tuple[InMemoryMap, InMemoryMap]:
    """(map date, flight date) of one landscape, 1 m/px, 900 x 900 m."""
    a, b = synthetic_world_pair(3)
    frame = EnuFrame(LatLonAlt(47.0, 19.0, 0.0))
    return InMemoryMap(a, frame, -450.0, 450.0, 1.0), InMemoryMap(b, frame, -450.0, 450.0, 1.0)


@pytest.fixture(scope="session")
def camera() -> CameraModel:
    return CameraModel(640, 480, 457.0, 457.0, 319.5, 239.5)

