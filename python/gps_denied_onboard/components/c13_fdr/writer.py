"""`FileFdrWriter`: the flight data recorder's single writer thread.

Lifecycle, called once each by the composition root: `start()`,
`open_flight(header)`, `close_flight()`, `stop()`. The writer thread is the sole
consumer of every client in its registry; lifecycle calls are handed to that
thread and waited for, so no ring ever sees a second consumer. Records are
serialised here, never in `enqueue`.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c13_fdr.errors import (
    FdrError,
    FdrFlightIdMismatchError,
    FdrHeaderError,
    FdrLifecycleError,
)
from gps_denied_onboard.components.c13_fdr.flight_lock import FlightRootLock
from gps_denied_onboard.components.c13_fdr.framing import dumps_body
from gps_denied_onboard.components.c13_fdr.interface import (
    FlightFooter,
    FlightHeader,
    GcsAlert,
    RotationHook,
    SegmentIO,
)
from gps_denied_onboard.components.c13_fdr.policies import RecordKindPolicy
from gps_denied_onboard.components.c13_fdr.segments import FlightSegments, record_body
from gps_denied_onboard.config.sections.fdr import FdrConfig
from gps_denied_onboard.fdr_client import (
    FDR_PRODUCER_ID,
    MARKER_SEQ,
    OVERRUN_KIND,
    FdrClient,
    FdrClientRegistry,
    default_client_registry,
)
from gps_denied_onboard.fdr_client.kinds import KINDS
from gps_denied_onboard.fdr_client.registry import FLAG_UNREGISTERED_KIND, normalize_payload
from gps_denied_onboard.helpers import RateLimiter
from gps_denied_onboard.logging import get_logger

_IDLE_WAIT_S = 0.005
_DEGRADED_RETRY_S = 1.0
_CALL_TIMEOUT_S = 30.0


def _check_flight_id(flight_id: str) -> None:
    if not isinstance(flight_id, str) or not flight_id or flight_id in (".", "..") or "/" in flight_id \
            or "\0" in flight_id:
        raise FdrHeaderError("flight_id", flight_id, "must be a non-empty directory name")


class FileFdrWriter:
    """Drains every FDR client into crash-safe segment files under `flight_root/<flight_id>/`."""

    def __init__(
        self,
        config: Any = None,
        *,
        flight_root: str | os.PathLike[str] | None = None,
        registry: FdrClientRegistry | None = None,
        clock: Clock | None = None,
        segment_io: SegmentIO | None = None,
        on_rotation: RotationHook | None = None,
        kind_policy: RecordKindPolicy | None = None,
        gcs_alert: GcsAlert | None = None,
        expected_flight_id: str | None = None,
    ) -> None:
        fdr = getattr(config, "fdr", config) if config is not None else FdrConfig()
        if not isinstance(fdr, FdrConfig):
            raise TypeError(f"config must be a GdnConfig or FdrConfig, got {type(config).__name__}")
        self.config: FdrConfig = fdr
        self.flight_root = os.fspath(flight_root if flight_root is not None else fdr.flight_root)
        self.registry = registry if registry is not None else default_client_registry()
        self.clock = clock or WallClock()
        self._io = segment_io
        self.on_rotation = on_rotation
        self.kind_policy = kind_policy
        self._gcs_alert = gcs_alert
        self.expected_flight_id = expected_flight_id
        self._log = get_logger("c13_fdr")
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._clients: list[FdrClient] = []
        self._registry_version = -1
        self._segments: FlightSegments | None = None
        self._lock = FlightRootLock(self.flight_root)
        self._footer: FlightFooter | None = None
        self._last_fsync = 0.0
        self._unsynced = False
        # degraded mode
        self.degraded = False
        self._degraded_since_ns = 0
        self._degraded_errno = 0
        self._degraded_error = ""
        self._degraded_dropped = 0
        self._next_retry = 0.0
        self._fail_log = RateLimiter(1.0, self.clock)
        self._unregistered_warned: set[str] = set()
        # totals
        self.records_dropped_overrun = 0
        self.records_dropped_degraded = 0
        self.records_dropped_policy = 0
        self.records_dropped_bad = 0
        self._bad_log = RateLimiter(1.0, self.clock)
        self._loop_log = RateLimiter(1.0, self.clock)
        self._batch: list[tuple[int, int, str, Any]] = []
        self._kind_cache: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    # ---- lifecycle (any thread) ---------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            raise FdrLifecycleError("FileFdrWriter.start called twice")
        self._thread = threading.Thread(target=self._run, name="fdr-writer", daemon=True)
        self._thread.start()

    def open_flight(self, header: FlightHeader) -> None:
        """Lock the flight root, create `flight_root/<flight_id>/segment-0000.fdr`, write the header.

        On any failure everything is rolled back (lock released, empty segment and
        directory removed) and the error is raised: FdrConcurrentWriterError,
        FdrFlightIdMismatchError, FdrHeaderError, FdrLifecycleError or OSError.
        """
        self._call(lambda: self._do_open(header))

    def close_flight(self) -> FlightFooter:
        """Drain everything, write the footer, fsync, release the lock. Idempotent."""
        if self._footer is not None:
            return self._footer
        return self._call(self._do_close)  # type: ignore[no-any-return]

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close an open flight (cleanly) and stop the thread. Idempotent."""
        if self._thread is None or self._stopped:
            self._stopped = True
            return
        if self._segments is not None and self._footer is None:
            try:
                self.close_flight()
            except (FdrError, OSError) as exc:
                self._log.error("FDR close at stop failed", kind="fdr_close_failed", error=str(exc))
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._stopped = True

    @property
    def footer(self) -> FlightFooter | None:
        return self._footer

    @property
    def flight_dir(self) -> str | None:
        return self._segments.flight_dir if self._segments is not None else None

    def _call(self, fn: Callable[[], Any]) -> Any:
        if self._thread is None or self._stopped or not self._thread.is_alive():
            raise FdrLifecycleError("the FDR writer thread is not running (call start() first)")
        fut: Future[Any] = Future()
        self._commands.put((fn, fut))
        self._wake.set()
        try:
            return fut.result(_CALL_TIMEOUT_S)
        except FutureTimeout as exc:
            raise FdrLifecycleError("the FDR writer thread did not answer within 30 s") from exc

    # ---- writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._run_commands()
            if self._stop.is_set():
                self._run_commands()
                return
            try:
                busy = self._pump()
                self._periodic()
            except Exception as exc:  # noqa: BLE001 - the recorder thread must outlive any bug
                busy = False
                if self._loop_log.allow():
                    self._log.error("FDR writer loop error", kind="fdr_writer_error", error=repr(exc),
                                    suppressed=self._loop_log.take_suppressed())
            if not busy:
                self._wake.wait(_IDLE_WAIT_S)
                self._wake.clear()

    def _run_commands(self) -> None:
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
                fut.set_exception(exc)

    def _refresh_clients(self) -> None:
        if self.registry.version != self._registry_version:
            self._registry_version = self.registry.version
            self._clients = self.registry.clients()

    def _pump(self) -> bool:
        """One pass over every client; True if anything was drained."""
        seg = self._segments
        if seg is None or self._footer is not None:
            return False
        self._refresh_clients()
        batch = self._batch
        limit = self.config.drain_batch
        busy = False
        for client in self._clients:
            batch.clear()
            if not client.drain_raw(limit, batch):
                continue
            busy = True
            if self.degraded:
                self._drop_degraded(client.producer_id, batch)
                continue
            try:
                self._frame_batch(seg, client.producer_id, batch)  # may rotate: opens a file
            except OSError as exc:
                self._enter_degraded(seg, exc)
                continue
            self._flush(seg)
        if self.kind_policy is not None and not self.degraded:
            try:
                for kind, payload in self.kind_policy.take_markers(self.clock.monotonic_ns()):
                    seg.emit(kind, payload)
            except OSError as exc:
                self._enter_degraded(seg, exc)
                return busy
            self._flush(seg)
        return busy

    def _kind_check(self, kind: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(known keys, required keys) of a registered kind, cached; None if unregistered."""
        entry = self._kind_cache.get(kind)
        if entry is None:
            spec = KINDS.get(kind)
            if spec is None:
                return None
            entry = (frozenset(spec.fields), frozenset(spec.required))
            self._kind_cache[kind] = entry
        return entry

    def _frame_batch(self, seg: FlightSegments, producer_id: str, batch: list[tuple[int, int, str, Any]]) -> None:
        policy = self.kind_policy
        bodies: list[bytes] = []
        add = bodies.append
        kind_check = self._kind_check
        for seq, ts, kind, payload in batch:
            if seq == MARKER_SEQ:
                producer = FDR_PRODUCER_ID
                if kind == OVERRUN_KIND:
                    self.records_dropped_overrun += int(payload.get("dropped_count", 0))
            else:
                producer = producer_id
            try:
                if policy is not None and seq != MARKER_SEQ and not policy.admit(producer, kind, ts):
                    self.records_dropped_policy += 1
                    continue
                check = kind_check(kind)
                if check is not None and payload.keys() <= check[0] and check[1] <= payload.keys():
                    add(record_body(producer, seq, ts, kind, payload))
                else:
                    payload, flags = normalize_payload(kind, payload)
                    if FLAG_UNREGISTERED_KIND in flags:
                        self._warn_unregistered(kind, producer)
                    add(record_body(producer, seq, ts, kind, payload, tuple(flags)))
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the recorder
                self._bad_record(producer, kind, exc)
        seg.add_records(bodies)

    def _warn_unregistered(self, kind: str, producer: str) -> None:
        if kind not in self._unregistered_warned:
            self._unregistered_warned.add(kind)
            self._log.warning("FDR record of an unregistered kind (recorded, flagged)",
                              kind="fdr_unregistered_kind", record_kind=kind, producer_id=producer)

    def _bad_record(self, producer: str, kind: Any, exc: Exception) -> None:
        self.records_dropped_bad += 1
        if self._bad_log.allow():
            self._log.error("FDR record could not be serialised; dropped", kind="fdr_bad_record",
                            producer_id=producer, record_kind=repr(kind), error=repr(exc),
                            suppressed=self._bad_log.take_suppressed())

    def _flush(self, seg: FlightSegments) -> None:
        try:
            seg.flush()
            self._unsynced = True
        except OSError as exc:
            self._enter_degraded(seg, exc)

    def _periodic(self) -> None:
        seg = self._segments
        if seg is None or self._footer is not None:
            return
        now = time.monotonic()
        if self.degraded:
            if now >= self._next_retry:
                self._next_retry = now + _DEGRADED_RETRY_S
                self._try_recover(seg)
            return
        if self._unsynced and now - self._last_fsync >= self.config.fsync_interval_s:
            self._last_fsync = now
            self._unsynced = False
            try:
                seg.fsync()
            except OSError as exc:
                self._enter_degraded(seg, exc)

    # ---- degraded mode ------------------------------------------------------------------
    def _enter_degraded(self, seg: FlightSegments, exc: OSError) -> None:
        dropped = seg.discard_buffer()
        self.records_dropped_degraded += dropped
        self._degraded_dropped += dropped
        if self.degraded:
            if self._fail_log.allow():
                self._log.error("FDR write still failing", kind="fdr_write_failed", errno=exc.errno,
                                error=str(exc), suppressed=self._fail_log.take_suppressed())
            return
        self.degraded = True
        self._degraded_since_ns = self.clock.monotonic_ns()
        self._degraded_errno = exc.errno or 0
        self._degraded_error = exc.strerror or str(exc)
        self._next_retry = time.monotonic() + _DEGRADED_RETRY_S
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        self._log.error("FDR storage failure: recording degraded, records are being dropped",
                        kind="fdr_degraded", errno=exc.errno, error=str(exc), flight_dir=seg.flight_dir)
        if self._gcs_alert is not None:
            try:
                self._gcs_alert(f"FDR DEGRADED: {name}, logs dropped")
            except Exception as alert_exc:  # noqa: BLE001 - the alert path must not stop the writer
                self._log.error("GCS alert callback failed", kind="fdr_alert_failed", error=repr(alert_exc))

    def _drop_degraded(self, producer_id: str, batch: list[tuple[int, int, str, Any]]) -> None:
        for seq, _ts, kind, payload in batch:
            if kind == OVERRUN_KIND and seq == MARKER_SEQ:
                self.records_dropped_overrun += int(payload.get("dropped_count", 0))
            else:
                self.records_dropped_degraded += 1
                self._degraded_dropped += 1

    def _try_recover(self, seg: FlightSegments) -> None:
        try:
            seg.reopen_after_failure()
            seg.emit("fdr.degraded_recovered", {
                "dropped_records": self._degraded_dropped, "errno": self._degraded_errno,
                "error": self._degraded_error,
                "degraded_ns": self.clock.monotonic_ns() - self._degraded_since_ns})
            seg.flush()
        except OSError as exc:
            seg.discard_buffer()
            if self._fail_log.allow():
                self._log.error("FDR storage still failing", kind="fdr_write_failed", errno=exc.errno,
                                error=str(exc), suppressed=self._fail_log.take_suppressed())
            return
        self.degraded = False
        self._degraded_dropped = 0
        self._log.warning("FDR recording resumed after a storage failure", kind="fdr_recovered",
                          segment=seg.segment_path())

    # ---- open / close (writer thread) ---------------------------------------------------
    def _release_lock(self) -> None:
        self._lock.release()

    def _do_open(self, header: FlightHeader) -> None:
        if self._segments is not None or self._footer is not None:
            raise FdrLifecycleError("open_flight may be called once per writer")
        if not isinstance(header, FlightHeader):
            raise FdrHeaderError("header", header, "must be a FlightHeader")
        self._lock.acquire()
        flight_dir = os.path.join(self.flight_root, str(header.flight_id))
        created_dir = False
        seg: FlightSegments | None = None
        try:
            _check_flight_id(header.flight_id)
            if os.path.exists(flight_dir) and os.listdir(flight_dir):
                raise FdrHeaderError("flight_id", header.flight_id, f"flight directory {flight_dir} already has data")
            if not os.path.isdir(flight_dir):
                os.makedirs(flight_dir)
                created_dir = True
            seg = FlightSegments(flight_dir, header, segment_bytes=self.config.segment_bytes,
                                 resync_interval_bytes=self.config.resync_interval_bytes, io=self._io,
                                 clock=self.clock, on_rotation=self.on_rotation)
            seg.fd = seg.io.open_append(seg.segment_path())
            if self.expected_flight_id is not None and header.flight_id != self.expected_flight_id:
                raise FdrFlightIdMismatchError(
                    "flight_id", header.flight_id, f"this writer records flight {self.expected_flight_id!r}")
            dumps_body(header.to_json())
            seg.open_frames_on_fd()
        except BaseException:
            if seg is not None and seg.fd is not None:
                try:
                    seg.io.close(seg.fd)
                except OSError:
                    pass
                try:
                    os.unlink(seg.segment_path())
                except OSError:
                    pass
            if created_dir:
                try:
                    os.rmdir(flight_dir)
                except OSError:
                    pass
            self._release_lock()
            raise
        self._segments = seg
        self._last_fsync = time.monotonic()

    def _drain_all(self, seg: FlightSegments) -> None:
        deadline = time.monotonic() + 5.0
        while self._pump() and time.monotonic() < deadline:
            pass

    def _do_close(self) -> FlightFooter:
        if self._footer is not None:
            return self._footer
        seg = self._segments
        if seg is None:
            raise FdrLifecycleError("close_flight before open_flight")
        if self.degraded:
            self._try_recover(seg)  # one last chance to write the footer
        self._drain_all(seg)
        if self.kind_policy is not None and not self.degraded:
            for kind, payload in self.kind_policy.take_markers(self.clock.monotonic_ns(), force=True):
                seg.emit(kind, payload)
        clean = not self.degraded and self.records_dropped_degraded == 0
        try:
            footer = seg.close(self.records_dropped_overrun, clean_shutdown=clean)
        except OSError as exc:
            self._enter_degraded(seg, exc)
            footer = FlightFooter(seg.header.flight_id, self.clock.wall_iso(), self.clock.monotonic_ns(),
                                  seg.records_written, self.records_dropped_overrun, seg.bytes_written,
                                  seg.rollover_count, False)
            if seg.fd is not None:
                try:
                    seg.io.close(seg.fd)
                except OSError:
                    pass
                seg.fd = None
        self._footer = footer
        self._release_lock()
        return footer

    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics and the benchmark."""
        seg = self._segments
        return {
            "records_written": seg.records_written if seg else 0,
            "bytes_written": seg.bytes_written if seg else 0,
            "rollover_count": seg.rollover_count if seg else 0,
            "records_dropped_overrun": self.records_dropped_overrun,
            "records_dropped_degraded": self.records_dropped_degraded,
            "records_dropped_policy": self.records_dropped_policy,
            "records_dropped_bad": self.records_dropped_bad,
            "degraded": self.degraded,
        }
