"""C6 on a real provisioned cache (the demo's: synthetic world -> C10 -> signed C4
cache): the composition roots hand C6 the cache's descriptors, so relocalisation
describes no map tile at start-up, a differently named extractor falls back to
building, and no-prior relocalisation through the cache's index still finds the
position."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.components.c6_place_recognition import TileIndex, default_descriptor_extractor
from gps_denied_onboard.runtime_root.airborne import described_cache_map
from gps_denied_onboard.runtime_root.airborne_replay import replay_flight
from gps_denied_onboard.runtime_root.demo import DemoParams, Prepared, prepare
from tests.integration.localization_flightgen import track_errors_m
from tests.testlib.extractors import CountingExtractor

PARAMS = DemoParams(seed=3, world_px=1024, duration_s=10.0, fps=5.0)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(PARAMS, tmp_path_factory.mktemp("demo_inputs"), rebuild=False, say=lambda _: None)


def test_cache_descriptors_reach_c6_without_describing_the_map(prepared: Prepared) -> None:
    cache = open_cache(prepared.cache_dir, trusted_keys=[prepared.public_key], state_path=prepared.state_path)
    try:
        table = cache.descriptors()
        assert table is not None and table.extractor == default_descriptor_extractor().name
        ex = CountingExtractor()
        index = TileIndex(described_cache_map(cache), ex, tile_m=120.0)
        assert index.source == "cache" and ex.calls == [] and len(index) == len(table)
        other = CountingExtractor(name="another-extractor-v1")
        built = TileIndex(described_cache_map(cache), other, tile_m=120.0)
        assert built.source == "built" and sum(other.calls) == len(built) > len(table)
    finally:
        cache.close()


def test_no_prior_relocalisation_through_the_cache_index(prepared: Prepared, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import gps_denied_onboard.runtime_root.airborne_pipeline as ap

    made: list[CountingExtractor] = []

    def counting() -> CountingExtractor:
        made.append(CountingExtractor())
        return made[-1]

    monkeypatch.setattr(ap, "_EXHAUSTIVE_MAX_PX", 0)  # force C6 retrieval on this small map
    monkeypatch.setattr(ap, "default_descriptor_extractor", counting)
    res = replay_flight(prepared.flight_dir, tmp_path / "out", cache_dir=prepared.cache_dir,
                        trusted_keys=[prepared.public_key])
    assert made, "relocalisation never built an index"
    assert all(set(ex.calls) <= {1} for ex in made)  # only query images: no map tile was described
    assert res.relocalizations >= 1
    s = track_errors_m(prepared.flight_dir, tmp_path / "out")
    assert s["fix_rate"] >= 0.5 and math.isfinite(s["fix_cep95_m"]) and s["fix_cep95_m"] < 30.0, s
