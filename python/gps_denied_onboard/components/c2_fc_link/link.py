"""`FcLink`: the MAVLink link to the flight controller.

One service thread owns the receive side (parse, validate, timestamp), the
periodic sends (HEARTBEAT, TIMESYNC, queued STATUSTEXT alerts) and link-state
tracking; `send_position` runs on the caller's (output) thread. Bad bytes, bad
values and a vanished peer are counted, logged (rate-limited), recorded and
survived: nothing the autopilot sends can raise out of the link.
"""

from __future__ import annotations

import queue
import struct
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pymavlink.dialects.v20 import ardupilotmega as mav2

from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c2_fc_link import encode
from gps_denied_onboard.components.c2_fc_link.errors import FcLinkClosedError, FcLinkValueError
from gps_denied_onboard.components.c2_fc_link.interface import (
    LinkStats,
    PositionOutput,
    SendReport,
    TelemetrySnapshot,
    TimedValue,
)
from gps_denied_onboard.components.c2_fc_link.telemetry import TelemetryState
from gps_denied_onboard.components.c2_fc_link.timesync import ClockOffsetEstimator
from gps_denied_onboard.components.c2_fc_link.transport import Transport, open_transport
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig
from gps_denied_onboard.helpers import RateLimiter
from gps_denied_onboard.logging import get_logger

_log = get_logger("c2_fc_link")

MAV_SEVERITY = {"emergency": 0, "alert": 1, "critical": 2, "error": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
MAV_TYPE_ONBOARD_CONTROLLER = 18
MAV_AUTOPILOT_INVALID = 8
MAV_STATE_ACTIVE = 4
MAV_STATE_CRITICAL = 5
MAV_FRAME_GLOBAL = 0
MAV_CMD_EXTERNAL_POSITION_ESTIMATE = 43003
STATUSTEXT_LEN = 50
# pymavlink's decoder raises these on frames that pass the CRC but do not unpack.
_DECODE_ERRORS = (mav2.MAVError, struct.error, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError)


class FdrSink(Protocol):
    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> Any: ...


class FcLink:
    """MAVLink link to one autopilot. Call `start()` once, `stop()` once."""

    def __init__(
        self,
        cfg: FcLinkConfig,
        *,
        clock: Clock | None = None,
        fdr: FdrSink | None = None,
        fdr_out: FdrSink | None = None,
        transport_factory: Callable[[str], Transport] = open_transport,
        on_link_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._cfg = cfg
        self._clock = clock or WallClock()
        self._fdr = fdr
        self._fdr_out = fdr_out
        self._transport_factory = transport_factory
        self._on_link_change = on_link_change
        self._mav = mav2.MAVLink(None, srcSystem=cfg.source_system, srcComponent=cfg.source_component)
        self._mav.robust_parsing = True
        self._tx_lock = threading.Lock()
        self._transport: Transport | None = None
        self._offsets = ClockOffsetEstimator()
        self._telemetry = TelemetryState(self._offsets, self._clock.monotonic_ns, self._clock.unix_ns)
        self._alerts: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._pending_ts1: deque[int] = deque(maxlen=16)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._last_rx_ns: int | None = None
        self._link_up = False
        self._down_since_ns: int | None = None
        self._degraded_reason: str | None = None
        self._origin: tuple[float, float, float] | None = None
        self._origin_sent_ns: int | None = None
        self._next_heartbeat_ns = 0
        self._next_timesync_ns = 0
        self.loop_heartbeat_ns = 0  # last service-loop iteration, for the supervisor
        self._bad_log = RateLimiter(1.0, self._clock)
        self._reject_log = RateLimiter(1.0, self._clock)
        self._send_log = RateLimiter(1.0, self._clock)
        self._alert_limits: dict[str, int] = {}
        self._c = dict.fromkeys(LinkStats.__dataclass_fields__, 0)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Open the transport and start the service thread."""
        if self._stopped:
            raise FcLinkClosedError("FcLink was stopped; build a new one")
        if self._thread is not None:
            return
        self._transport = self._transport_factory(self._cfg.url)
        _log.info("link open", kind="link_open", transport=self._transport.description)
        self._spawn()

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._run, name="c2-fc-link", daemon=True)
        self._thread.start()

    def restart_thread(self) -> bool:
        """Start a new service thread if the old one died (called by the supervisor).
        Returns True when a thread was started."""
        if self._stopped or self._thread is None or self._thread.is_alive():
            return False
        _log.error("link service thread had died; restarting", kind="link_thread_restart")
        self._spawn()
        return True

    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the service thread and close the transport. Idempotent."""
        self._stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._transport is not None:
            with self._tx_lock:
                self._transport.close()

    @property
    def transport(self) -> Transport | None:
        return self._transport

    # ---- public API ----------------------------------------------------------------------

    def snapshot(self) -> TelemetrySnapshot:
        """The latest valid telemetry (thread-safe)."""
        return self._telemetry.snapshot(self._link_up)

    def add_sample_listener(self, fn: Callable[[TimedValue], None]) -> None:
        """Receive every accepted attitude / altitude sample (on the link thread;
        `fn` must be quick and must not raise). Call before `start()`."""
        self._telemetry.add_listener(fn)

    @property
    def link_up(self) -> bool:
        return self._link_up

    def stats(self) -> LinkStats:
        return LinkStats(**self._c)

    def set_degraded(self, reason: str | None) -> None:
        """Tell the GCS (HEARTBEAT state CRITICAL + a STATUSTEXT) that navigation is
        degraded, or (None) that it recovered. Cheap to call every tick."""
        if reason == self._degraded_reason:
            return
        previous, self._degraded_reason = self._degraded_reason, reason
        if reason is not None:
            self.send_statustext(f"GDN degraded: {reason}", "warning")
        elif previous is not None:
            self.send_statustext("GDN navigation OK", "notice")

    def send_statustext(self, text: str, severity: str = "warning") -> None:
        """Queue a GCS alert; the service thread sends it (same text at most 1/s)."""
        if severity not in MAV_SEVERITY:
            raise FcLinkValueError(f"unknown severity {severity!r}; choose from {list(MAV_SEVERITY)}")
        self._alerts.put((MAV_SEVERITY[severity], text))

    def set_origin(self, lat_deg: float, lon_deg: float, alt_msl_m: float) -> None:
        """Anchor for ODOMETRY's local NED frame; announced with SET_GPS_GLOBAL_ORIGIN."""
        self._origin = (lat_deg, lon_deg, alt_msl_m)
        self._origin_sent_ns = None

    def send_position(self, out: PositionOutput) -> SendReport:
        """Send one position in every configured output message. Never raises on a
        transport failure (counted, logged, recorded); raises FcLinkValueError only
        for a value that cannot be encoded."""
        if self._stopped:
            raise FcLinkClosedError("FcLink was stopped")
        now = self._clock.monotonic_ns()
        unix_now = self._clock.unix_ns()
        valid_unix = unix_now - (now - out.valid_ns)
        age = now - out.capture_ns
        names: list[str] = []
        msgs: list[Any] = []
        fix = encode.fix_type_for(out, age, self._cfg)
        for kind in self._cfg.outputs:
            if kind == "gps_input":
                msgs.append(self._mav.gps_input_encode(
                    **encode.gps_input_fields(out, send_unix_ns=valid_unix, age_ns=age, cfg=self._cfg)))
            elif kind == "global_position_sensor":
                msgs.append(self._mav.global_position_sensor_encode(**encode.global_position_sensor_fields(
                    out, time_usec=self._fc_time_usec(out.valid_ns, valid_unix), processing_us=age // 1000,
                    age_ns=age, cfg=self._cfg)))
            elif kind == "odometry":
                if self._origin is None and fix >= encode.GPS_FIX_TYPE_3D:
                    self.set_origin(out.lat_deg, out.lon_deg, out.alt_msl_m)
                if self._origin is None:
                    continue
                self._maybe_send_origin(now)
                msgs.append(self._mav.odometry_encode(**encode.odometry_fields(
                    out, ned_m=self._ned(out), time_usec=self._fc_time_usec(out.valid_ns, valid_unix),
                    age_ns=age, cfg=self._cfg)))
            names.append(kind)
        for msg in msgs:
            self._write(msg)
        sent = self._clock.monotonic_ns()
        acc = encode.accuracies(out, self._cfg)
        report = SendReport(sent, tuple(names), fix, sent - out.capture_ns, acc.horiz_m)
        if self._fdr_out is not None:
            self._fdr_out.enqueue("c2.position_out", {
                "valid_ns": out.valid_ns, "capture_ns": out.capture_ns, "sent_ns": sent,
                "latency_ns": report.latency_ns, "messages": list(names), "fix_type": fix,
                "lat": out.lat_deg, "lon": out.lon_deg, "alt_msl": out.alt_msl_m,
                "horiz_accuracy": acc.horiz_m, "health": out.health.value, "source": out.source,
            })
        return report

    def send_external_position_estimate(self, out: PositionOutput) -> None:
        """MAV_CMD_EXTERNAL_POSITION_ESTIMATE (COMMAND_INT): a one-off position reset
        for an autopilot that is dead-reckoning (rejected by ArduPilot while it trusts a GPS)."""
        now = self._clock.monotonic_ns()
        acc = encode.accuracies(out, self._cfg)
        msg = self._mav.command_int_encode(
            self._cfg.target_system, self._cfg.target_component, MAV_FRAME_GLOBAL,
            MAV_CMD_EXTERNAL_POSITION_ESTIMATE, 0, 0,
            (now % 200_000_000_000) / 1e9,  # transmission time, wrapped at 200 s (10 us resolution)
            max(0.0, (now - out.capture_ns) / 1e9), acc.horiz_m, 0.0,
            int(round(out.lat_deg * 1e7)), int(round(out.lon_deg * 1e7)), float("nan"))
        self._write(msg)
        _log.info("external position estimate sent", kind="external_position_estimate",
                  lat=out.lat_deg, lon=out.lon_deg, accuracy_m=acc.horiz_m)

    # ---- internals: sending --------------------------------------------------------------

    def _fc_time_usec(self, valid_ns: int, valid_unix_ns: int) -> int:
        est = self._offsets.estimate()
        if est is not None and est.rtt_ns is not None:
            return max(0, (valid_ns + est.offset_ns) // 1000)
        return valid_unix_ns // 1000  # the receiver tells Unix time from boot time by magnitude

    def _ned(self, out: PositionOutput) -> tuple[float, float, float]:
        from gps_denied_onboard._types import EnuFrame, LatLonAlt

        assert self._origin is not None
        enu = EnuFrame(LatLonAlt(*self._origin)).to_enu(LatLonAlt(out.lat_deg, out.lon_deg, out.alt_msl_m))
        return float(enu[1]), float(enu[0]), float(-enu[2])

    def _maybe_send_origin(self, now: int) -> None:
        if self._origin is None or (self._origin_sent_ns is not None and now - self._origin_sent_ns < 5_000_000_000):
            return
        lat, lon, alt = self._origin
        self._write(self._mav.set_gps_global_origin_encode(
            self._cfg.target_system, int(round(lat * 1e7)), int(round(lon * 1e7)), int(round(alt * 1000)),
            self._clock.unix_ns() // 1000))
        self._origin_sent_ns = now

    def _write(self, msg: Any) -> bool:
        transport = self._transport
        if transport is None:
            self._c["send_errors"] += 1
            return False
        with self._tx_lock:
            try:
                buf = msg.pack(self._mav)
                transport.write(buf)
            except OSError as exc:
                self._c["send_errors"] += 1
                failed: OSError | None = exc
            else:
                self._c["messages_out"] += 1
                failed = None
        if failed is not None and self._send_log.allow():
            _log.warning("send to autopilot failed", kind="link_send_failed", error=str(failed),
                         suppressed=self._send_log.take_suppressed())
        return failed is None

    def _send_alert(self, severity: int, text: str, now: int) -> None:
        last = self._alert_limits.get(text)
        if last is not None and now - last < 1_000_000_000:
            return
        if len(self._alert_limits) > 64:  # texts vary (durations, reasons): keep only the live window
            self._alert_limits = {t: ns for t, ns in self._alert_limits.items() if now - ns < 1_000_000_000}
        self._alert_limits[text] = now
        data = text.encode("utf-8", errors="replace")
        chunks = [data[i:i + STATUSTEXT_LEN] for i in range(0, max(len(data), 1), STATUSTEXT_LEN)]
        msg_id = (now // 1_000_000) & 0xFFFF if len(chunks) > 1 else 0
        for seq, chunk in enumerate(chunks):
            self._write(self._mav.statustext_encode(severity, chunk, msg_id, seq))
        if self._fdr is not None:
            self._fdr.enqueue("c2.statustext", {"severity": severity, "text": text})

    # ---- internals: service thread -------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock.monotonic_ns()
            self.loop_heartbeat_ns = now
            for chunk in self._read():
                self._ingest(chunk)
            self._periodic(self._clock.monotonic_ns())

    def _read(self) -> list[bytes]:
        transport = self._transport
        if transport is None:
            self._stop.wait(0.02)
            return []
        try:
            return transport.read(0.02)
        except OSError as exc:
            # A serial adapter unplugged mid-flight: reopen until it returns.
            if self._bad_log.allow():
                _log.error("link read failed; reopening", kind="link_read_failed", error=str(exc))
            self._reopen()
            return []

    def _reopen(self) -> None:
        with self._tx_lock:
            if self._transport is not None:
                try:
                    self._transport.close()
                except OSError:
                    pass
            self._transport = None
        self._stop.wait(1.0)
        try:
            self._transport = self._transport_factory(self._cfg.url)
        except OSError as exc:
            _log.debug("link reopen failed", kind="link_reopen_failed", error=str(exc))

    def _ingest(self, data: bytes) -> None:
        self._c["bytes_in"] += len(data)
        receipt = self._clock.monotonic_ns()
        transport = self._transport
        if transport is not None and transport.framed:
            self._reset_parser()  # a datagram holds whole frames: never carry a broken one over
        try:
            msgs = self._parse(data)
        except _DECODE_ERRORS as exc:
            self._reset_parser()
            self._bad(f"undecodable frame: {exc}")
            return
        for msg in msgs:
            self._handle(msg, receipt)

    def _reset_parser(self) -> None:
        self._mav.buf = bytearray()
        self._mav.buf_index = 0
        self._mav.expected_length = mav2.HEADER_LEN_V1 + 2

    def _parse(self, data: bytes) -> list[Any]:
        """pymavlink's robust parser, plus resynchronisation: a frame that fails its
        CRC consumed `len` bytes that may hold the start of good frames (a corrupted
        length byte), so rescan from one byte after its start."""
        out: list[Any] = []
        msg = self._mav.parse_char(data)
        while msg is not None:
            if msg.get_type() == "BAD_DATA" and getattr(msg, "reason", "") != "Bad prefix" and len(msg.data) > 1:
                self._mav.buf_index -= len(msg.data) - 1
            out.append(msg)
            msg = self._mav.parse_char(b"")
        return out

    def _bad(self, reason: str) -> None:
        self._c["bad_messages"] += 1
        if self._bad_log.allow():
            suppressed = self._bad_log.take_suppressed()
            _log.warning("malformed MAVLink from the autopilot", kind="link_bad_data", reason=reason,
                         suppressed=suppressed)
            if self._fdr is not None:
                self._fdr.enqueue("c2.bad_data", {"reason": reason[:200], "suppressed": suppressed,
                                                  "bad_messages": self._c["bad_messages"]})

    def _handle(self, msg: Any, receipt: int) -> None:
        mtype = msg.get_type()
        if mtype == "BAD_DATA" or mtype.startswith("UNKNOWN"):
            self._bad(f"{mtype}: {getattr(msg, 'reason', '')}")
            return
        if msg.get_srcSystem() != self._cfg.target_system:
            return  # a GCS or another vehicle on the same link
        self._c["messages_in"] += 1
        if mtype == "TIMESYNC":
            self._timesync(msg, receipt)
        else:
            try:
                reason = self._telemetry.apply(msg, receipt)
            except _DECODE_ERRORS + (AttributeError, ArithmeticError) as exc:
                reason = f"{mtype} not decodable: {exc}"
            if reason is not None:
                self._reject(mtype, reason)
                return
        if msg.get_srcComponent() == self._cfg.target_component or mtype == "HEARTBEAT":
            self._last_rx_ns = receipt

    def _reject(self, mtype: str, reason: str) -> None:
        self._c["rejected_values"] += 1
        if self._reject_log.allow():
            suppressed = self._reject_log.take_suppressed()
            _log.warning("telemetry value rejected", kind="telemetry_rejected", msg_type=mtype, reason=reason,
                         suppressed=suppressed)
            if self._fdr is not None:
                self._fdr.enqueue("c2.telemetry_rejected", {"msg_type": mtype, "reason": reason,
                                                            "suppressed": suppressed})

    def _timesync(self, msg: Any, receipt: int) -> None:
        if msg.tc1 == 0:  # the autopilot asks us: answer with our clock
            self._write(self._mav.timesync_encode(self._clock.monotonic_ns(), msg.ts1))
            return
        if msg.ts1 not in self._pending_ts1:
            return  # a reply to someone else's request
        self._pending_ts1.remove(msg.ts1)
        if self._offsets.add_timesync(msg.ts1, msg.tc1, receipt):
            est = self._offsets.estimate()
            if est is not None and self._fdr is not None and est.samples <= 1:
                self._fdr.enqueue("c2.timesync", {"offset_ns": est.offset_ns, "rtt_ns": est.rtt_ns or 0,
                                                  "resets": self._offsets.resets})

    def _periodic(self, now: int) -> None:
        if now >= self._next_heartbeat_ns:
            self._next_heartbeat_ns = now + int(1e9 / self._cfg.heartbeat_rate_hz)
            state = MAV_STATE_CRITICAL if self._degraded_reason else MAV_STATE_ACTIVE
            self._write(self._mav.heartbeat_encode(MAV_TYPE_ONBOARD_CONTROLLER, MAV_AUTOPILOT_INVALID, 0, 0, state))
        if now >= self._next_timesync_ns:
            self._next_timesync_ns = now + int(1e9 / self._cfg.timesync_rate_hz)
            self._pending_ts1.append(now)
            self._write(self._mav.timesync_encode(0, now))
        while True:
            try:
                severity, text = self._alerts.get_nowait()
            except queue.Empty:
                break
            self._send_alert(severity, text, now)
        self._update_link_state(now)

    def _update_link_state(self, now: int) -> None:
        up = self._last_rx_ns is not None and now - self._last_rx_ns <= self._cfg.link_timeout_s * 1e9
        if up == self._link_up:
            return
        self._link_up = up
        if up:
            down_for = None if self._down_since_ns is None else (now - self._down_since_ns) / 1e9
            if self._down_since_ns is not None:
                self._c["link_returns"] += 1
            _log.info("autopilot link up", kind="link_up", down_for_s=down_for)
            if down_for is not None:
                self._alerts.put((MAV_SEVERITY["notice"], f"GDN: autopilot link back after {down_for:.1f}s"))
        else:
            self._down_since_ns = now
            self._c["link_drops"] += 1
            _log.warning("autopilot link down: nothing valid received", kind="link_down",
                         timeout_s=self._cfg.link_timeout_s)
        if self._fdr is not None:
            self._fdr.enqueue("c2.link_state", {"up": up, "link_drops": self._c["link_drops"],
                                                "link_returns": self._c["link_returns"]})
        if self._on_link_change is not None:
            self._on_link_change(up)
