"""make_fdr_client caching/capacity and the central kind registry."""

from __future__ import annotations

import pytest

from gps_denied_onboard.config import FdrConfig, GdnConfig
from gps_denied_onboard.fdr_client import (
    FdrClientRegistry,
    KindSpec,
    capacity_from_config,
    kind_json_schema,
    make_fdr_client,
    normalize_payload,
)
from gps_denied_onboard.fdr_client.kinds import KINDS
from gps_denied_onboard.fdr_client.testing import fake_fdr_registry  # noqa: F401 - fixture


def test_make_fdr_client_caches_per_producer() -> None:
    reg = FdrClientRegistry()
    a = make_fdr_client("c7_geo_registration", registry=reg)
    assert make_fdr_client("c7_geo_registration", registry=reg) is a
    assert make_fdr_client("c5_state", registry=reg) is not a
    assert {c.producer_id for c in reg.clients()} == {"c7_geo_registration", "c5_state"}


@pytest.mark.parametrize("bad", ["", None, 7])
def test_make_fdr_client_rejects_empty_ids(bad: object) -> None:
    with pytest.raises(ValueError, match="producer_id"):
        make_fdr_client(bad, registry=FdrClientRegistry())  # type: ignore[arg-type]


def test_capacity_comes_from_config_with_queue_size_fallback() -> None:
    assert capacity_from_config(FdrConfig(queue_size=1000)) == 1024
    assert capacity_from_config(GdnConfig(fdr=FdrConfig(per_producer_capacity=300, queue_size=1000))) == 512
    reg = FdrClientRegistry()
    assert make_fdr_client("a", GdnConfig(fdr=FdrConfig(per_producer_capacity=100)), registry=reg).capacity == 128
    assert make_fdr_client("b", registry=reg).capacity == FdrConfig().queue_size
    assert make_fdr_client("c", capacity=5, registry=reg).capacity == 8
    with pytest.raises(TypeError):
        capacity_from_config(object())


def test_explicit_capacity_conflicting_with_the_cached_client_is_an_error() -> None:
    reg = FdrClientRegistry()
    make_fdr_client("a", capacity=8, registry=reg)
    assert make_fdr_client("a", capacity=7, registry=reg).capacity == 8  # same power of two
    with pytest.raises(ValueError, match="already exists"):
        make_fdr_client("a", capacity=64, registry=reg)


def test_default_registry_is_replaced_by_the_fixture(fake_fdr_registry: FdrClientRegistry) -> None:  # noqa: F811
    client = make_fdr_client("some_component")
    assert fake_fdr_registry.get("some_component") is client


def test_every_registered_kind_is_well_formed() -> None:
    assert "log" in KINDS and "fdr.overrun" in KINDS and "segment_rollover" in KINDS
    for name, spec in KINDS.items():
        assert isinstance(spec, KindSpec) and name and name == name.strip()
        schema = kind_json_schema(name)
        assert schema["title"] == name and "payload" in schema["properties"]


def test_kind_spec_validates_itself() -> None:
    with pytest.raises(ValueError, match="JSON type"):
        KindSpec("d", {"x": "float64"})
    with pytest.raises(ValueError, match="optional"):
        KindSpec("d", {"x": "number"}, optional=frozenset({"y"}))
    with pytest.raises(ValueError, match="extra"):
        KindSpec("d", {"extra": "object"})


def test_unknown_payload_keys_are_kept_under_extra() -> None:
    payload, flags = normalize_payload("fdr.log_bridge_dropped", {"dropped_count": 3, "new_field": "x"})
    assert payload == {"dropped_count": 3, "extra": {"new_field": "x"}}
    assert flags == ("unknown_keys",)


def test_unregistered_kind_is_kept_and_flagged() -> None:
    payload, flags = normalize_payload("c99.never_registered", {"a": 1})
    assert payload == {"a": 1} and flags == ("unregistered_kind",)


def test_missing_required_keys_and_non_mapping_payloads_are_flagged_not_raised() -> None:
    assert normalize_payload("fdr.log_bridge_dropped", {})[1] == ("missing_keys",)
    payload, flags = normalize_payload("c99.x", [1, 2])
    assert payload == {"value": [1, 2]} and "bad_payload" in flags
