"""The log bridge: WARNING and above from any logger -> FDR records of kind `log`.

A `logging.Handler` on the root logger, installed once (idempotent). It never
blocks the thread that logs: it bypasses the handler lock, takes its own
enqueue lock with a 2 ms bound (the client ring is single-producer and logging
threads are many), and counts what it cannot forward. A thread-local guard
stops recursion (a log emitted while forwarding a log is dropped and counted).
Every 1000th drop writes one diagnostic line to stderr, the only channel left
when the recorder itself is saturated. INFO and DEBUG never reach the FDR.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

from gps_denied_onboard.fdr_client.client import FdrClient
from gps_denied_onboard.fdr_client.factory import FdrClientRegistry, make_fdr_client
from gps_denied_onboard.fdr_client.record import EnqueueResult
from gps_denied_onboard.logging import LOG_SCHEMA_VERSION, format_record

LOG_KIND = "log"
LOG_BRIDGE_PRODUCER_ID = "log"
DROP_REPORT_EVERY = 1000
_LOCK_TIMEOUT_S = 0.002


def _no_overrun_log(producer_id: str, overrun_count: int) -> None:
    """The bridge counts its own overruns; logging them would feed the bridge."""


def log_payload(record: logging.LogRecord) -> dict[str, Any]:
    """The `log` payload of a log record (the structured log schema, plus logger/thread)."""
    structured = format_record(record)
    payload: dict[str, Any] = {
        "log_schema": LOG_SCHEMA_VERSION,
        "level": structured["level"],
        "component": structured["component"],
        "event": structured["kind"],
        "msg": structured["msg"],
        "kv": structured["kv"],
        "logger": record.name,
        "thread": record.threadName or "",
    }
    if "frame" in structured:
        payload["frame"] = structured["frame"]
    if "exc" in structured:
        payload["exc"] = structured["exc"]
    return payload


class FdrLogBridge(logging.Handler):
    """Forwards WARNING+ log records into one FDR client as kind `log`."""

    def __init__(self, client: FdrClient, stderr: TextIO | None = None) -> None:
        super().__init__(level=logging.WARNING)
        self.client = client
        self._enqueue_lock = threading.Lock()
        self._local = threading.local()
        self._stderr = stderr
        self._count_lock = threading.Lock()
        self.forwarded = 0
        self.dropped = 0

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        # logging.Handler.handle would take the (blocking) handler lock: skip it.
        if record.levelno < logging.WARNING or record.levelno < self.level:
            return False
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        local = self._local
        if getattr(local, "active", False):
            self._drop("recursion")
            return
        local.active = True
        try:
            payload = log_payload(record)
            if not self._enqueue_lock.acquire(timeout=_LOCK_TIMEOUT_S):
                self._drop("contended")
                return
            try:
                result = self.client.enqueue(LOG_KIND, payload)
            finally:
                self._enqueue_lock.release()
            self.forwarded += 1
            if result is EnqueueResult.OVERRUN:
                self._drop("saturated")
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self._drop("error")
        finally:
            local.active = False

    def _drop(self, reason: str) -> None:
        with self._count_lock:
            self.dropped += 1
            dropped = self.dropped
        if dropped % DROP_REPORT_EVERY == 0:
            stream = self._stderr or sys.stderr
            try:
                stream.write(
                    f"gdn fdr log bridge: {dropped} WARN/ERROR log records not recorded so far "
                    f"(latest reason: {reason})\n"
                )
                stream.flush()
            except (OSError, ValueError):
                pass


def install_log_bridge(
    client: FdrClient | None = None,
    *,
    registry: FdrClientRegistry | None = None,
    stderr: TextIO | None = None,
) -> FdrLogBridge:
    """Install the bridge on the root logger once; later calls return the installed one.

    `client` defaults to `make_fdr_client("log")` (in `registry` if given); its
    overrun hook is replaced so that an overrun is counted, not logged.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, FdrLogBridge):
            return handler
    if client is None:
        client = make_fdr_client(LOG_BRIDGE_PRODUCER_ID, registry=registry)
    client.on_overrun = _no_overrun_log
    bridge = FdrLogBridge(client, stderr=stderr)
    root.addHandler(bridge)
    return bridge


def uninstall_log_bridge() -> FdrLogBridge | None:
    """Remove the installed bridge (tests, shutdown); returns it, or None."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, FdrLogBridge):
            root.removeHandler(handler)
            return handler
    return None
