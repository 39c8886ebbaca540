"""C6: the classical descriptor honours C8's DescriptorExtractor contract, and retrieval
finds the right map tile for a view of another date."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gps_denied_onboard._types import EnuFrame, LatLonAlt
from gps_denied_onboard.components.c6_place_recognition import (
    PlaceRecognitionError,
    TileIndex,
    default_descriptor_extractor,
)
from gps_denied_onboard.components.c7_geo_registration import InMemoryMap
from gps_denied_onboard.components.c8_inference import DescriptorExtractor
from tests.integration.localization_flightgen import synthetic_world_pair


def test_descriptor_contract() -> None:
    ex = default_descriptor_extractor()
    assert isinstance(ex, DescriptorExtractor)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (64, 80, 3), dtype=np.uint8), rng.integers(0, 255, (50, 50), dtype=np.uint8)]
    d = ex.describe(imgs)
    assert d.shape == (2, ex.dim) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    assert "gradhist" in ex.name and ex.name == default_descriptor_extractor().name


def test_descriptor_is_invariant_to_contrast_reversal() -> None:
    a, _ = synthetic_world_pair(2, size_px=200)
    ex = default_descriptor_extractor()
    d = ex.describe([a, 255 - a])
    assert float(d[0] @ d[1]) > 0.95


def test_cross_date_retrieval_ranks_the_true_tile_high() -> None:
    a, b = synthetic_world_pair(4)
    frame = EnuFrame(LatLonAlt(30.0, -98.0, 0.0))
    map_a = InMemoryMap(a, frame, -450.0, 450.0, 1.0)
    map_b = InMemoryMap(b, frame, -450.0, 450.0, 1.0)
    index = TileIndex(map_a, default_descriptor_extractor(), tile_m=200.0)
    assert len(index) > 20
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(10):
        e, n = rng.uniform(-300, 300, 2)
        view = map_b.read_patch(e, n, 128, 128, 200.0 / 128).image
        cands = index.query(view, k=5)
        hits += any(math.hypot(c.east_m - e, c.north_m - n) < 100.0 for c in cands)
    assert hits >= 7


def test_empty_map_cannot_be_indexed() -> None:
    frame = EnuFrame(LatLonAlt(0.0, 0.0, 0.0))
    m = InMemoryMap(np.zeros((100, 100), np.uint8), frame, 0.0, 100.0, 1.0, valid=np.zeros((100, 100), bool))
    with pytest.raises(PlaceRecognitionError):
        TileIndex(m, default_descriptor_extractor(), tile_m=50.0)
