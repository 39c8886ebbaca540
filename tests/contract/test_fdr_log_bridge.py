"""Contract: the payload of FDR `log` records (the structured log schema, LOG_SCHEMA_VERSION).

valid info (never recorded) / warn-with-frame / error-with-exc / multiline collapsed /
non-serialisable kv / stable field order.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from gps_denied_onboard.fdr_client import FdrLogBridge, install_log_bridge, uninstall_log_bridge
from gps_denied_onboard.fdr_client.kinds import KINDS
from gps_denied_onboard.fdr_client.testing import FakeFdrSink
from gps_denied_onboard.logging import LOG_SCHEMA_VERSION, get_logger

FIELD_ORDER = ["log_schema", "level", "component", "event", "msg", "kv", "logger", "thread"]


@pytest.fixture
def sink() -> Iterator[FakeFdrSink]:
    uninstall_log_bridge()
    s = FakeFdrSink("log")
    bridge = install_log_bridge(s, stderr=io.StringIO())
    assert isinstance(bridge, FdrLogBridge)
    try:
        yield s
    finally:
        uninstall_log_bridge()


def test_info_is_never_recorded(sink: FakeFdrSink) -> None:
    log = get_logger("c5_state")
    log.logger.setLevel("DEBUG")
    log.info("filter initialised", kind="filter_init")
    assert sink.records == []


def test_warn_with_frame(sink: FakeFdrSink) -> None:
    get_logger("c7_geo_registration").warning("fix refused", kind="fix_refused", frame=1234, inliers=9)
    [rec] = sink.records
    assert rec.kind == "log"
    assert list(rec.payload) == FIELD_ORDER + ["frame"]
    assert rec.payload["log_schema"] == LOG_SCHEMA_VERSION == "1.0"
    assert rec.payload["frame"] == 1234 and rec.payload["kv"] == {"inliers": 9}


def test_error_with_exc(sink: FakeFdrSink) -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        get_logger("c5_state").error("update failed", exc_info=True)
    [rec] = sink.records
    assert list(rec.payload) == FIELD_ORDER + ["exc"]
    assert list(rec.payload["exc"]) == ["type", "message", "traceback"]
    assert rec.payload["exc"]["type"] == "ZeroDivisionError"


def test_multiline_is_collapsed_and_non_serialisable_kv_is_repr(sink: FakeFdrSink) -> None:
    get_logger("c2_fc_link").warning("line one\nline two\n", obj=object(), nested={"t": (1, 2)})
    [rec] = sink.records
    assert rec.payload["msg"] == "line one | line two"
    assert rec.payload["kv"]["obj"].startswith("<object object")
    assert rec.payload["kv"]["nested"] == {"t": [1, 2]}


def test_payload_matches_the_registered_kind(sink: FakeFdrSink) -> None:
    get_logger("x").warning("w")
    [rec] = sink.records
    spec = KINDS["log"]
    assert set(rec.payload) <= set(spec.fields) and set(spec.required) <= set(rec.payload)
