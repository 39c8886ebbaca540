"""C6 uses descriptors that came with the map when (and only when) the same extractor
made them: no describing at construction, retrieval as good as a built index; a
different extractor, a missing or malformed table falls back to building, and one
`reloc_index_source` event says which."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from gps_denied_onboard._types import EnuFrame, LatLonAlt
from gps_denied_onboard.components.c6_place_recognition import DescribedMap, TileIndex, default_descriptor_extractor
from gps_denied_onboard.components.c7_geo_registration import InMemoryMap
from gps_denied_onboard.logging import format_record
from tests.integration.localization_flightgen import synthetic_world_pair
from tests.testlib.extractors import CountingExtractor

TILE_M = 200.0


@dataclass(frozen=True)
class Table:
    """Shaped like C4's DescriptorIndex (the fields C6 reads)."""

    extractor: str
    matrix: npt.NDArray[np.float32]
    footprints_en_m: npt.NDArray[np.float64]


def _provisioned(map_src: InMemoryMap, name: str | None = None) -> Table:
    """What provisioning does: one descriptor per TILE_M window every TILE_M / 2."""
    ex = default_descriptor_extractor()
    feet, images = [], []
    for n in np.arange(-450.0 + TILE_M / 2, 450.0 - TILE_M / 2 + 1, TILE_M / 2):
        for e in np.arange(-450.0 + TILE_M / 2, 450.0 - TILE_M / 2 + 1, TILE_M / 2):
            images.append(map_src.read_patch(float(e), float(n), 128, 128, TILE_M / 128).image)
            feet.append((e - TILE_M / 2, n - TILE_M / 2, e + TILE_M / 2, n + TILE_M / 2))
    return Table(name or ex.name, ex.describe(images), np.asarray(feet, np.float64))


@pytest.fixture(scope="module")
def maps() -> tuple[InMemoryMap, InMemoryMap]:
    a, b = synthetic_world_pair(4)
    frame = EnuFrame(LatLonAlt(30.0, -98.0, 0.0))
    return InMemoryMap(a, frame, -450.0, 450.0, 1.0), InMemoryMap(b, frame, -450.0, 450.0, 1.0)


def _events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The `kv` of every `reloc_index_source` event."""
    recs = [format_record(r) for r in caplog.records if r.name.startswith("gdn.")]
    return [r["kv"] for r in recs if r["kind"] == "reloc_index_source"]


def _hits(index: TileIndex, other_date: InMemoryMap) -> int:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(10):
        e, n = rng.uniform(-300, 300, 2)
        view = other_date.read_patch(e, n, 128, 128, TILE_M / 128).image
        hits += any(math.hypot(c.east_m - e, c.north_m - n) < 100.0 for c in index.query(view, k=5))
    return hits


def test_precomputed_descriptors_are_used_without_describing_the_map(
        maps: tuple[InMemoryMap, InMemoryMap], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gdn")
    map_a, map_b = maps
    table = _provisioned(map_a)
    ex = CountingExtractor()
    index = TileIndex(DescribedMap(map_a, table), ex, tile_m=150.0)
    assert ex.calls == [] and index.source == "cache"
    assert len(index) == len(table.matrix) and index.tile_m == pytest.approx(TILE_M)
    [event] = _events(caplog)
    assert event["source"] == "cache" and event["reason"] == ""
    assert _hits(index, map_b) >= 7  # cross-date retrieval still finds the place
    assert set(ex.calls) == {1}  # only the query images were described


@pytest.mark.parametrize("case", ["other_name", "no_table", "wrong_dim"])
def test_unusable_table_falls_back_to_building(maps: tuple[InMemoryMap, InMemoryMap], case: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gdn")
    map_a, map_b = maps
    table: Table | None = _provisioned(map_a)
    assert table is not None
    if case == "other_name":
        table = Table("some-cnn-v2", table.matrix, table.footprints_en_m)
    elif case == "no_table":
        table = None
    else:
        table = Table(table.extractor, table.matrix[:, :-1], table.footprints_en_m)
    ex = CountingExtractor()
    index = TileIndex(DescribedMap(map_a, table), ex, tile_m=TILE_M)
    assert index.source == "built" and sum(ex.calls) == len(index) > 20
    [event] = _events(caplog)
    assert event["source"] == "built"
    assert {"other_name": "extractor mismatch", "no_table": "no precomputed", "wrong_dim": "shape"}[case] \
        in str(event["reason"])
    assert _hits(index, map_b) >= 7


def test_a_differently_named_runtime_extractor_does_not_trust_the_cache(maps: tuple[InMemoryMap, InMemoryMap]) -> None:
    map_a, _ = maps
    ex = CountingExtractor(name="gdn-gradhist-v2")
    index = TileIndex(DescribedMap(map_a, _provisioned(map_a)), ex, tile_m=TILE_M)
    assert index.source == "built" and ex.calls and max(ex.calls) > 1


def test_described_map_reads_like_its_map(maps: tuple[InMemoryMap, InMemoryMap]) -> None:
    map_a, _ = maps
    d = DescribedMap(map_a, None)
    assert d.frame == map_a.frame and d.bounds_en_m == map_a.bounds_en_m and d.native_gsd_m == map_a.native_gsd_m
    np.testing.assert_array_equal(d.read_patch(10.0, -20.0, 32, 32, 2.0).image,
                                  map_a.read_patch(10.0, -20.0, 32, 32, 2.0).image)
    assert d.global_descriptors() is None
