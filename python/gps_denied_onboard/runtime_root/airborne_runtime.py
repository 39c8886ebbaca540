"""`AirborneRuntime`: the threads of the flight process and their supervision.

    camera thread  --frames (bounded, drop-oldest)-->  vision thread
    link thread (C2) --attitude/altitude (bounded)-->  vision thread
    vision thread: telemetry + frame -> LocalizationPipeline.on_frame
    output thread: every 1/rate s, pipeline.output(now) -> FcLink.send_position
    FDR writer thread (C13): drains one FDR client per producer
    supervisor (the caller's thread, `run`): stalled or dead workers are reported
    (log, FDR, STATUSTEXT) and restarted where that is safe.

The pipeline is single-owner: the vision and output threads share it under one
lock. If a frame holds the lock past the output deadline, the output thread
extrapolates the last solution (constant velocity, covariance grown) instead of
waiting, so the autopilot still gets its message on time.

A worker loop catches every exception at its boundary on purpose: the flight
process must keep sending (degraded) whatever one bad frame or value does; the
error is logged with its traceback, recorded, counted and reported.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gps_denied_onboard.clock import Clock
from gps_denied_onboard.components.c1_camera import CapturedFrame, FrameSource
from gps_denied_onboard.components.c2_fc_link import (
    AltitudeSample,
    AttitudeSample,
    FcLink,
    OutputHealth,
    PositionOutput,
    TimedValue,
)
from gps_denied_onboard.logging import get_logger
from gps_denied_onboard.runtime_root.airborne_position_out import (
    HealthAnnouncer,
    LockedSolution,
    output_health,
    position_output,
    send_instants,
)
from gps_denied_onboard.runtime_root.airborne_position_reset import (
    PositionResetPolicy,
    PositionResetSettings,
    ResetAction,
)

if TYPE_CHECKING:
    from gps_denied_onboard.runtime_root.airborne_outputs import FusedOutput

_log = get_logger("airborne_runtime")


class RecordSink(Protocol):
    def enqueue(self, kind: str, payload: dict[str, Any]) -> object: ...


class Pipeline(Protocol):
    """What the runtime needs of `airborne_pipeline.LocalizationPipeline`."""

    def on_attitude(self, t_ns: int, roll_rad: float, pitch_rad: float, yaw_rad: float) -> None: ...

    def on_altitude(self, t_ns: int, alt_agl_m: float, alt_msl_m: float) -> None: ...

    def on_frame(self, t_ns: int, image: Any) -> Any: ...

    def output(self, t_ns: int) -> FusedOutput: ...


@dataclass(frozen=True)
class FrameEvent:
    """Reported to `on_frame` after each processed frame (the demo prints these)."""

    capture_ns: int
    index: int
    report: Any  # airborne_pipeline.FrameReport
    output: Any  # airborne_pipeline.FusedOutput at the frame's time
    processing_ms: float
    queue_ms: float


@dataclass
class RuntimeCounters:
    frames_in: int = 0
    frames_dropped: int = 0
    frames_processed: int = 0
    frames_undecodable: int = 0
    positions_sent: int = 0
    extrapolated: int = 0
    worker_errors: int = 0
    stalls_reported: int = 0
    restarts: int = 0
    camera_reopens: int = 0
    position_resets: int = 0  # MAV_CMD_EXTERNAL_POSITION_ESTIMATE sent
    # (frame capture_ns, capture -> first position sent in ms), newest last
    latencies_ms: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=20_000))


@dataclass(frozen=True)
class RuntimeSettings:
    output_rate_hz: float = 10.0
    frame_queue: int = 1
    telemetry_queue: int = 2048
    stall_timeout_s: float = 3.0
    camera_stall_s: float = 2.0
    supervise_interval_s: float = 0.5
    lock_wait_s: float = 0.03  # how long the output thread waits for a frame in progress
    position_reset: PositionResetSettings = field(default_factory=PositionResetSettings)


class AirborneRuntime:
    """Wire a pipeline, a link and a camera into supervised threads. `start`, then
    `run(stop_event)` on the main thread (returns when set or the camera is
    exhausted), then `stop`."""

    def __init__(self, *, pipeline: Pipeline, link: FcLink, camera_factory: Callable[[], FrameSource], clock: Clock,
                 settings: RuntimeSettings, fdr_vision: RecordSink | None = None,
                 fdr_output: RecordSink | None = None, fdr_supervisor: RecordSink | None = None,
                 on_frame: Callable[[FrameEvent], None] | None = None) -> None:
        self._pipe = pipeline
        self._link = link
        self._camera_factory = camera_factory
        self._clock = clock
        self._s = settings
        self._fdr_vision = fdr_vision
        self._fdr_output = fdr_output
        self._fdr_sup = fdr_supervisor
        self._on_frame = on_frame
        self.counters = RuntimeCounters()
        self._pipe_lock = threading.Lock()
        self._frames: deque[CapturedFrame] = deque(maxlen=settings.frame_queue)
        self._frame_ready = threading.Event()
        self._solution_ready = threading.Event()
        self._telemetry: deque[TimedValue] = deque(maxlen=settings.telemetry_queue)
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._beats: dict[str, int] = {}
        self._stalled: set[str] = set()
        self._camera_gen = 0
        self._camera_exhausted = threading.Event()
        self._last_frame_ns: int | None = None
        self._last_processed_capture: int | None = None
        self._latency_pending: int | None = None
        self._solutions = LockedSolution(pipeline.output, self._pipe_lock, settings.lock_wait_s)
        self._announcer = HealthAnnouncer(link)
        self._pending_agl: tuple[int, float] | None = None
        self._reset = PositionResetPolicy(settings.position_reset)
        link.add_sample_listener(self._telemetry.append)  # deque.append is atomic: no lock on the link thread

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        now = self._clock.monotonic_ns()
        self._last_frame_ns = now
        for name in ("camera", "vision", "output"):
            self._spawn(name)
        self._beats["link"] = now

    def _spawn(self, name: str) -> None:
        targets: dict[str, Callable[..., None]] = {
            "camera": self._camera_loop, "vision": self._vision_loop, "output": self._output_loop}
        target = targets[name]
        args: tuple[Any, ...] = ()
        if name == "camera":
            self._camera_gen += 1
            args = (self._camera_gen,)
        self._beats[name] = self._clock.monotonic_ns()
        thread = threading.Thread(target=target, args=args, name=f"gdn-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()

    @property
    def camera_exhausted(self) -> bool:
        return self._camera_exhausted.is_set()

    def run(self, stop: threading.Event, *, until_camera_exhausted: bool = False) -> None:
        """Supervise until `stop` is set (or, optionally, the replay camera ends)."""
        while not stop.wait(self._s.supervise_interval_s):
            self.supervise_once()
            if until_camera_exhausted and self._camera_exhausted.is_set() and not self._frames:
                # Let the last frame's solution go out before returning.
                stop.wait(2.0 / self._s.output_rate_hz)
                return

    def stop(self, timeout_s: float = 3.0) -> None:
        self._stop.set()
        self._frame_ready.set()
        self._solution_ready.set()
        for thread in list(self._threads.values()):
            thread.join(timeout_s)

    def request_position_reset(self) -> None:
        """Ask for one MAV_CMD_EXTERNAL_POSITION_ESTIMATE at the next healthy output
        (safe from a signal handler or any thread; see airborne_position_reset)."""
        self._reset.request(self._clock.monotonic_ns())
        _log.info("position reset requested", kind="position_reset_requested")

    # ---- supervision -------------------------------------------------------------------

    def _record(self, sink: RecordSink | None, kind: str, payload: dict[str, Any]) -> None:
        if sink is not None:
            sink.enqueue(kind, payload)

    def supervise_once(self) -> None:
        """Check every worker once (called by `run`; public for tests)."""
        now = self._clock.monotonic_ns()
        self._beats["link"] = self._link.loop_heartbeat_ns or self._beats.get("link", now)
        for name in ("camera", "vision", "output", "link"):
            alive = self._link.thread_alive if name == "link" else self._threads[name].is_alive()
            age_s = (now - self._beats.get(name, now)) / 1e9
            if not alive and not self._stop.is_set():
                self._report_stall(name, age_s, "restarted (thread had died)")
                if name == "link":
                    self._link.restart_thread()
                else:
                    self._spawn(name)
                self.counters.restarts += 1
            elif age_s > self._s.stall_timeout_s:
                if name not in self._stalled:
                    self._stalled.add(name)
                    action = "camera reopened" if name == "camera" else "reported"
                    self._report_stall(name, age_s, action)
                    if name == "camera":  # a driver stuck in read(): abandon it, open a fresh one
                        self._spawn("camera")
                        self.counters.restarts += 1
            elif name in self._stalled:
                self._stalled.discard(name)
                _log.info("worker running again", kind="thread_recovered", thread=name)
                self._record(self._fdr_sup, "runtime.thread_recovered", {"thread": name})

    def _report_stall(self, name: str, age_s: float, action: str) -> None:
        self.counters.stalls_reported += 1
        _log.error("worker stalled", kind="thread_stall", thread=name, age_s=round(age_s, 2), action=action)
        self._record(self._fdr_sup, "runtime.thread_stall", {"thread": name, "age_s": age_s, "action": action})
        self._link.send_statustext(f"GDN {name} thread stalled {age_s:.1f}s: {action}", "error")

    def _worker_error(self, name: str, exc: BaseException, sink: RecordSink | None) -> None:
        self.counters.worker_errors += 1
        _log.error("worker error (continuing)", kind="worker_error", thread=name, error=repr(exc), exc_info=exc)
        self._record(sink, "runtime.worker_error", {"thread": name, "error": repr(exc)[:300]})

    # ---- camera ------------------------------------------------------------------------

    def _camera_loop(self, generation: int) -> None:
        source: FrameSource | None = None
        while not self._stop.is_set() and generation == self._camera_gen:
            self._beats["camera"] = self._clock.monotonic_ns()
            try:
                if source is None:
                    source = self._camera_factory()
                frame = source.read(0.1)
                if frame is None:
                    if source.exhausted:
                        self._camera_exhausted.set()
                        self._stop.wait(0.1)  # an ended replay returns at once: don't spin
                    continue
                if generation != self._camera_gen:
                    break  # superseded while blocked in read(): the new thread owns the camera
                if frame.is_stall:
                    # C1 reconnected a stalled device: no image was captured, so the frame
                    # clock is not refreshed and the output's camera-stall health holds.
                    self.counters.camera_reopens += 1
                    continue
                self.counters.frames_in += 1
                if len(self._frames) == self._frames.maxlen:
                    self.counters.frames_dropped += 1
                self._frames.append(frame)
                self._last_frame_ns = frame.timestamp_ns
                self._frame_ready.set()
            except Exception as exc:  # noqa: BLE001 - thread boundary: reopen the camera, never die
                self._worker_error("camera", exc, None)
                if source is not None:
                    try:
                        source.close()
                    except Exception:  # noqa: BLE001 - closing a broken driver may fail too
                        pass
                source = None
                self.counters.camera_reopens += 1
                self._stop.wait(1.0)
        if source is not None:
            source.close()

    # ---- vision ------------------------------------------------------------------------

    def _drain_telemetry(self) -> None:
        while True:
            try:
                sample = self._telemetry.popleft()
            except IndexError:
                return
            if isinstance(sample, AttitudeSample):
                self._pipe.on_attitude(sample.capture_ns, sample.roll_rad, sample.pitch_rad, sample.yaw_rad)
            elif isinstance(sample, AltitudeSample):
                self._altitude(sample)

    def _altitude(self, sample: AltitudeSample) -> None:
        # The pipeline wants height above ground and MSL; the autopilot gives relative
        # (above home) and MSL in GLOBAL_POSITION_INT, or a downward rangefinder.
        if sample.source in ("relative", "range"):
            self._pending_agl = (sample.capture_ns, sample.alt_m)
        elif sample.source == "msl":
            agl = self._pending_agl
            agl_m = agl[1] if agl is not None and abs(agl[0] - sample.capture_ns) < 200_000_000 else math.nan
            self._pipe.on_altitude(sample.capture_ns, agl_m, sample.alt_m)

    def _vision_loop(self) -> None:
        while not self._stop.is_set():
            self._beats["vision"] = self._clock.monotonic_ns()
            try:
                self._vision_step()
            except Exception as exc:  # noqa: BLE001 - thread boundary: one bad frame must not stop navigation
                self._worker_error("vision", exc, self._fdr_vision)

    def _vision_step(self) -> None:
        if not self._frames:
            self._frame_ready.wait(0.05)
            self._frame_ready.clear()
            with self._pipe_lock:
                self._drain_telemetry()
            return
        frame = self._frames.popleft()
        t_start = self._clock.monotonic_ns()
        with self._pipe_lock:
            self._drain_telemetry()
            report = self._pipe.on_frame(frame.timestamp_ns, frame.image)
            out = self._pipe.output(frame.timestamp_ns)
            self._last_processed_capture = frame.timestamp_ns
            self._latency_pending = frame.timestamp_ns
        self._solution_ready.set()
        done = self._clock.monotonic_ns()
        self.counters.frames_processed += 1
        if frame.image is None:
            self.counters.frames_undecodable += 1
        processing_ms = (done - t_start) / 1e6
        queue_ms = (t_start - frame.timestamp_ns) / 1e6
        self._record(self._fdr_vision, "runtime.frame", {
            "capture_ns": frame.timestamp_ns, "index": frame.sequence, "processing_ms": processing_ms,
            "queue_ms": queue_ms, "attempted": bool(getattr(report, "attempted", False)),
            "accepted": bool(getattr(report, "accepted", False)), "reason": str(getattr(report, "reason", "")),
            "source": str(getattr(out, "source", "")), "health": str(getattr(out, "health", ""))})
        if self._on_frame is not None:
            self._on_frame(FrameEvent(frame.timestamp_ns, frame.sequence, report, out, processing_ms, queue_ms))

    # ---- output ------------------------------------------------------------------------

    def _output_loop(self) -> None:
        # A new frame's solution goes out at once (capture -> send latency is then the
        # processing time) and restarts the tick; otherwise one tick per period.
        period = int(1e9 / self._s.output_rate_hz)
        for now in send_instants(self._clock, self._solution_ready, self._stop, period,
                                 on_wake=lambda t: self._beats.__setitem__("output", t)):
            try:
                self._output_step(now)
            except Exception as exc:  # noqa: BLE001 - thread boundary: keep the autopilot fed
                self._worker_error("output", exc, self._fdr_output)

    def _solution(self, now: int) -> FusedOutput | None:
        out = self._solutions.at(now)
        self.counters.extrapolated = self._solutions.extrapolated
        return out

    def _health(self, out: Any, now: int) -> tuple[OutputHealth, str | None]:
        stalled = self._last_frame_ns is not None and (now - self._last_frame_ns) / 1e9 > self._s.camera_stall_s
        return output_health(out, camera_stalled=stalled, camera_ended=self._camera_exhausted.is_set())

    def _output_step(self, now: int) -> None:
        out = self._solution(now)
        health, reason = self._health(out, now)
        if self._announcer.tick(health, reason):
            self._record(self._fdr_output, "runtime.health", {"health": health.value, "reason": reason or ""})
        capture = self._last_processed_capture if self._last_processed_capture is not None else now
        try:
            position = position_output(out, health, valid_ns=now, capture_ns=capture)
        except ValueError as exc:  # FcLinkValueError: a solution the autopilot must not get
            self._worker_error("output", exc, self._fdr_output)
            return
        action = self._reset.decide(now, health if position is not None else OutputHealth.LOST)
        if action is ResetAction.REQUEST_EXPIRED:
            self._reset_event(action, now, None)
        if position is None:  # no solution, or a non-finite one
            return
        sent = self._link.send_position(position)
        self.counters.positions_sent += 1
        if action in (ResetAction.SEND_REQUESTED, ResetAction.SEND_RECOVERED):
            self._link.send_external_position_estimate(position)
            self._reset_event(action, now, position)
        pending = self._latency_pending
        if pending is not None:
            self._latency_pending = None
            self.counters.latencies_ms.append((pending, (sent.sent_ns - pending) / 1e6))
            self._record(self._fdr_output, "runtime.latency", {"capture_ns": pending, "sent_ns": sent.sent_ns,
                                                               "latency_ms": (sent.sent_ns - pending) / 1e6})

    def _reset_event(self, action: ResetAction, now: int, position: PositionOutput | None) -> None:
        self.counters.position_resets += position is not None
        nan = float("nan")
        self._record(self._fdr_output, "runtime.position_reset", {
            "action": action.value, "valid_ns": now, "lat_deg": position.lat_deg if position else nan,
            "lon_deg": position.lon_deg if position else nan,
            "horiz_sigma_m": position.horiz_sigma_m if position else nan})
        if position is None:
            timeout = self._s.position_reset.request_timeout_s
            _log.warning("position reset request expired: no healthy output", kind="position_reset_expired",
                         timeout_s=timeout)
            self._link.send_statustext(f"GDN reset not sent: no healthy fix in {timeout:.0f}s", "warning")
        else:
            _log.info("position reset sent", kind="position_reset_sent", action=action.value,
                      horiz_sigma_m=round(position.horiz_sigma_m, 2))
            self._link.send_statustext(f"GDN position reset sent ({action.value})", "info")
