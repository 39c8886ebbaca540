"""The log bridge: WARN/ERROR -> kind `log`, idempotent, non-blocking, recursion-safe."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from gps_denied_onboard.fdr_client import FdrLogBridge, install_log_bridge, uninstall_log_bridge
from gps_denied_onboard.fdr_client.log_bridge import DROP_REPORT_EVERY
from gps_denied_onboard.fdr_client.testing import FakeFdrSink
from gps_denied_onboard.logging import get_logger


@pytest.fixture
def bridge() -> Iterator[FdrLogBridge]:
    uninstall_log_bridge()
    b = install_log_bridge(FakeFdrSink("log", capacity=1024), stderr=io.StringIO())
    try:
        yield b
    finally:
        uninstall_log_bridge()


def _sink(b: FdrLogBridge) -> FakeFdrSink:
    assert isinstance(b.client, FakeFdrSink)
    return b.client


def test_only_warning_and_error_reach_the_fdr(bridge: FdrLogBridge) -> None:
    log = get_logger("c7_geo_registration")
    log.logger.setLevel(logging.DEBUG)
    log.debug("d")
    log.info("i")
    log.warning("fix refused", kind="fix_refused", frame=123, inliers=4)
    log.error("boom")
    recs = _sink(bridge).records
    assert [r.payload["level"] for r in recs] == ["WARNING", "ERROR"]
    w = recs[0]
    assert w.kind == "log" and w.producer_id == "log"
    assert w.payload["component"] == "c7_geo_registration" and w.payload["event"] == "fix_refused"
    assert w.payload["frame"] == 123 and w.payload["kv"] == {"inliers": 4} and w.payload["msg"] == "fix refused"


def test_errors_carry_the_traceback_text(bridge: FdrLogBridge) -> None:
    try:
        raise ValueError("bad tile 7")
    except ValueError:
        get_logger("c4_map_cache").error("tile rejected", exc_info=True)
    [rec] = _sink(bridge).records
    exc = rec.payload["exc"]
    assert exc["type"] == "ValueError" and exc["message"] == "bad tile 7"
    assert "Traceback" in exc["traceback"] and "raise ValueError" in exc["traceback"]


def test_install_is_idempotent(bridge: FdrLogBridge) -> None:
    again = install_log_bridge(FakeFdrSink("other"))
    assert again is bridge
    assert sum(isinstance(h, FdrLogBridge) for h in logging.getLogger().handlers) == 1
    logging.getLogger("x").warning("once")
    assert len(_sink(bridge).records) == 1


def test_recursion_is_guarded(bridge: FdrLogBridge) -> None:
    class LoggingSink(FakeFdrSink):
        def enqueue(self, kind, payload):  # type: ignore[no-untyped-def]
            logging.getLogger("inner").error("logging from inside the bridge")
            return super().enqueue(kind, payload)

    uninstall_log_bridge()
    b = install_log_bridge(LoggingSink("log"), stderr=io.StringIO())
    logging.getLogger("outer").warning("outer")
    assert [r.payload["msg"] for r in _sink(b).records] == ["outer"]
    assert b.dropped == 1


def test_saturation_never_blocks_and_reports_every_1000_drops(bridge: FdrLogBridge) -> None:
    uninstall_log_bridge()
    err = io.StringIO()
    b = install_log_bridge(FakeFdrSink("log", capacity=4), stderr=err)
    log = logging.getLogger("flood")
    took = []
    for i in range(2 * DROP_REPORT_EVERY + 10):
        t0 = time.perf_counter()
        log.warning("flood %d", i)
        took.append(time.perf_counter() - t0)
    # A sanity bound, not a benchmark (bench/fdr_bench.py measures it): a blocking
    # bridge would make every call slow, a busy machine only a few.
    assert sorted(took)[len(took) // 2] < 0.005
    assert b.dropped == 2 * DROP_REPORT_EVERY + 10 - 4
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and "2000 WARN/ERROR log records not recorded" in lines[1]


def test_a_contended_lock_drops_instead_of_blocking(bridge: FdrLogBridge) -> None:
    bridge._enqueue_lock.acquire()  # another thread is (pathologically) inside enqueue
    try:
        t0 = time.perf_counter()
        logging.getLogger("x").warning("while contended")
        assert time.perf_counter() - t0 < 0.5  # bounded by the 2 ms lock timeout, never a deadlock
    finally:
        bridge._enqueue_lock.release()
    assert bridge.dropped == 1 and _sink(bridge).records == []


def test_many_logging_threads_share_the_bridge_safely(bridge: FdrLogBridge) -> None:
    def work(n: int) -> None:
        for i in range(100):
            logging.getLogger(f"t{n}").warning("w %d", i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_sink(bridge).records) + bridge.dropped == 400
