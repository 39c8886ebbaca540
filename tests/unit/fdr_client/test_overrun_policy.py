"""The default overrun policy: ERROR at most once per second per producer."""

from __future__ import annotations

import logging

import pytest

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.fdr_client import DefaultOverrunPolicy, FdrClient


def test_error_is_rate_limited_per_producer(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    policy = DefaultOverrunPolicy(interval_s=1.0, monotonic_ns=clock.monotonic_ns)
    c = FdrClient("cam", 1, on_overrun=policy)
    caplog.set_level(logging.ERROR, logger="gdn.fdr_client")
    for _ in range(500):
        c.enqueue("k", {})
    assert policy.errors_logged == 1
    clock.advance(0.5)
    c.enqueue("k", {})
    assert policy.errors_logged == 1
    clock.advance(0.6)
    c.enqueue("k", {})
    assert policy.errors_logged == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[1].gdn_kv["overruns_since_last_report"] == 500  # type: ignore[attr-defined]  # 498 + 1 + 1  # type: ignore[attr-defined]
    assert errors[1].gdn_kv["producer_id"] == "cam"  # type: ignore[attr-defined]


def test_each_producer_has_its_own_limit() -> None:
    clock = FakeClock()
    a = FdrClient("a", 1, on_overrun=DefaultOverrunPolicy(monotonic_ns=clock.monotonic_ns))
    b = FdrClient("b", 1, on_overrun=DefaultOverrunPolicy(monotonic_ns=clock.monotonic_ns))
    for _ in range(3):
        a.enqueue("k", {})
        b.enqueue("k", {})
    assert a.on_overrun.errors_logged == 1  # type: ignore[attr-defined]
    assert b.on_overrun.errors_logged == 1  # type: ignore[attr-defined]


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DefaultOverrunPolicy(interval_s=0)
