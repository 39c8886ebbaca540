"""Contract: the structured log record schema (LOG_SCHEMA_VERSION).

Changing a field's name, order or meaning is a major version bump; adding an
optional field at the end is a minor one. Update docs/contracts/log-record.md too.
"""

from __future__ import annotations

import io
import json
import logging

from gps_denied_onboard.logging import LOG_FIELD_ORDER, LOG_SCHEMA_VERSION, configure_logging, get_logger


def _emit(fn) -> dict:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    handler = configure_logging(logging.DEBUG, stream)
    try:
        fn()
    finally:
        logging.getLogger("gdn").removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_schema_version_is_pinned() -> None:
    assert LOG_SCHEMA_VERSION == "1.0"
    assert LOG_FIELD_ORDER == ("ts", "level", "component", "kind", "msg", "kv", "frame", "exc")


def test_valid_info_record() -> None:
    rec = _emit(lambda: get_logger("c5_state").info("filter initialised", kind="filter_init", sigma_m=12.5))
    assert list(rec) == ["ts", "level", "component", "kind", "msg", "kv"]
    assert rec["level"] == "INFO" and rec["component"] == "c5_state" and rec["kind"] == "filter_init"
    assert rec["msg"] == "filter initialised" and rec["kv"] == {"sigma_m": 12.5}
    assert rec["ts"].endswith("Z") and "T" in rec["ts"]


def test_warn_with_frame() -> None:
    rec = _emit(lambda: get_logger("c7_geo_registration").warning("fix refused", kind="fix_refused", frame=123456789, inliers=7))
    assert list(rec) == ["ts", "level", "component", "kind", "msg", "kv", "frame"]
    assert rec["level"] == "WARNING" and rec["frame"] == 123456789 and rec["kv"] == {"inliers": 7}


def test_error_with_exception() -> None:
    def boom() -> None:
        try:
            raise ValueError("bad tile\nsecond line")
        except ValueError:
            get_logger("c4_map_cache").error("tile read failed", kind="tile_error", exc_info=True)

    rec = _emit(boom)
    assert list(rec)[-1] == "exc"
    assert rec["exc"]["type"] == "ValueError"
    assert rec["exc"]["message"] == "bad tile | second line"
    assert "Traceback" in rec["exc"]["traceback"]


def test_multiline_message_is_collapsed_to_one_line() -> None:
    rec = _emit(lambda: get_logger("c1_camera").info("line one\n  line two\n\nline three"))
    assert rec["msg"] == "line one | line two | line three"
    assert rec["kind"] == "message"


def test_non_serialisable_kv_is_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing 42>"

    rec = _emit(lambda: get_logger("c9_integrity").info("x", thing=Thing(), nested={"a": (1, 2), "b": {3}}))
    assert rec["kv"]["thing"] == "<Thing 42>"
    assert rec["kv"]["nested"] == {"a": [1, 2], "b": "{3}"}


def test_field_order_is_stable_across_records() -> None:
    a = _emit(lambda: get_logger("x").info("a", kind="k", z=1, a=2))
    b = _emit(lambda: get_logger("x").error("b", frame=5, a=2, z=1))
    assert list(a)[:6] == list(b)[:6] == list(LOG_FIELD_ORDER[:6])
