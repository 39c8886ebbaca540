"""The position the autopilot gets, decided one way for `airborne run` and
`airborne replay --mavlink`.

- `output_health`: OK -> 3D fix; pipeline degraded or camera silent -> 2D (with
  the reasons, for STATUSTEXT); no solution or position lost -> no fix.
- `position_output`: the C2 `PositionOutput` for a pipeline `FusedOutput`
  predicted to the send instant (speed accuracy from the filter's velocity
  covariance).
- `extrapolate`: the last solution carried forward at constant velocity, with
  its covariance grown, when a frame holds the pipeline past the send deadline.
- `next_send_ns` / `send_instants`: the send schedule (a new frame's solution at once, otherwise
  one tick per period, missed ticks skipped instead of bursting).
- `PositionFeed`: the replay's output thread, which applies all of the above on
  a fixed mapping from the dataset's clock to the link's (the live runtime has
  its own output thread in `airborne_runtime`, with supervision and the FDR).

This module imports C2 (c2_fc_link): a build without it imports it only when a
link is used.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gps_denied_onboard.clock import Clock
from gps_denied_onboard.components.c2_fc_link import FcLink, FcLinkError, OutputHealth, PositionOutput
from gps_denied_onboard.logging import get_logger

if TYPE_CHECKING:
    from gps_denied_onboard.runtime_root.airborne_outputs import FusedOutput

_log = get_logger("position_out")

EARTH_RADIUS_M = 6_378_137.0
# Velocity uncertainty assumed while extrapolating without the filter (m/s, 1 sigma).
EXTRAPOLATION_SPEED_SIGMA_MPS = 1.0


def output_health(out: FusedOutput | None, *, camera_stalled: bool = False,
                  camera_ended: bool = False) -> tuple[OutputHealth, str | None]:
    """The health sent to the autopilot and the reasons it is not OK (None when OK).

    A stalled camera degrades the output; it is named as a reason only while the
    camera is expected to deliver (an ended replay is not a fault)."""
    reasons: list[str] = []
    if camera_stalled and not camera_ended:
        reasons.append("camera stalled")
    if out is None or out.source == "none" or out.health == "lost":
        health = OutputHealth.LOST
        reasons.append("no position" if out is None or out.source == "none" else "position lost")
    elif out.health == "degraded" or camera_stalled:
        health = OutputHealth.DEGRADED
    else:
        health = OutputHealth.OK
    if out is not None and health is not OutputHealth.OK:
        reasons.extend(out.degradations)
    return health, (", ".join(dict.fromkeys(reasons)) or None)


def position_output(out: FusedOutput | None, health: OutputHealth, *, valid_ns: int,
                    capture_ns: int) -> PositionOutput | None:
    """The message content for `out`, valid at `valid_ns` (link clock), depending on
    measurements captured at `capture_ns` (clamped to `valid_ns`). None when there
    is nothing to send (no solution, or a non-finite position or covariance);
    raises FcLinkValueError for a solution the link must not encode."""
    if out is None or not math.isfinite(out.lat_deg) or not math.isfinite(out.cov_nn):
        return None
    # Right after (re)initialisation the velocity is barely known and the autopilot
    # must be told so (speed accuracy from the filter), or its velocity gate rejects the fix.
    return PositionOutput(
        valid_ns=valid_ns, capture_ns=min(capture_ns, valid_ns), lat_deg=out.lat_deg, lon_deg=out.lon_deg,
        alt_msl_m=out.alt_msl_m, vn=out.vn_mps, ve=out.ve_mps, vd=out.vd_mps, cov_nn=out.cov_nn,
        cov_ne=out.cov_ne, cov_ee=out.cov_ee, health=health, source=out.source,
        speed_sigma_m_s=out.speed_sigma_mps)


def extrapolate(prev: FusedOutput, t_ns: int) -> FusedOutput:
    """`prev` carried to `t_ns` at constant velocity, its horizontal covariance grown
    by `EXTRAPOLATION_SPEED_SIGMA_MPS` over the interval (never backwards in time)."""
    dt = max(0.0, (t_ns - prev.timestamp_ns) / 1e9)
    grow = (EXTRAPOLATION_SPEED_SIGMA_MPS * dt) ** 2
    dn, de = prev.vn_mps * dt, prev.ve_mps * dt
    lat = prev.lat_deg + math.degrees(dn / EARTH_RADIUS_M)
    lon = prev.lon_deg + math.degrees(de / (EARTH_RADIUS_M * math.cos(math.radians(prev.lat_deg))))
    return dataclasses.replace(prev, timestamp_ns=t_ns, lat_deg=lat, lon_deg=lon,
                               alt_msl_m=prev.alt_msl_m - prev.vd_mps * dt, cov_nn=prev.cov_nn + grow,
                               cov_ee=prev.cov_ee + grow)


def next_send_ns(now_ns: int, scheduled_ns: int, period_ns: int, fresh: bool) -> int:
    """When the next position is due after sending one at `now_ns`. A new frame's
    solution (`fresh`) goes out at once and restarts the tick; otherwise one tick
    per period, skipping missed ticks instead of bursting."""
    return now_ns + period_ns if fresh else max(scheduled_ns + period_ns, now_ns + period_ns // 2)


def send_instants(clock: Clock, fresh: threading.Event, stop: threading.Event, period_ns: int,
                  on_wake: Callable[[int], None] | None = None) -> Iterator[int]:
    """An output thread's schedule (`next_send_ns`): yields each instant a position is
    due, until `stop`. `fresh` is set by whoever has a new frame's solution (and by
    `stop`'s setter, to wake the thread); `on_wake(now)` runs on every wake-up (a
    supervisor's heartbeat)."""
    next_ns = clock.monotonic_ns()
    while not stop.is_set():
        now = clock.monotonic_ns()
        if on_wake is not None:
            on_wake(now)
        is_fresh = fresh.is_set()
        if now < next_ns and not is_fresh:
            fresh.wait(min((next_ns - now) / 1e9, 0.1))
            continue
        fresh.clear()
        if stop.is_set():
            return
        next_ns = next_send_ns(now, next_ns, period_ns, is_fresh)
        yield now


class HealthAnnouncer:
    """Tells the link (STATUSTEXT, HEARTBEAT state, fix_type) and the log the output's
    health each tick, and reports when the reasons changed (the caller records that)."""

    def __init__(self, link: FcLink) -> None:
        self._link = link
        self._reason: str | None = None

    def tick(self, health: OutputHealth, reason: str | None) -> bool:
        changed = reason != self._reason
        if changed:
            self._reason = reason
            if reason is None:
                _log.info("navigation healthy", kind="health_ok")
            else:
                _log.warning("navigation degraded", kind="health_degraded", reason=reason)
        self._link.set_degraded(reason if health is not OutputHealth.OK else None)
        return changed


class LockedSolution:
    """The pipeline's solution at a send instant, without waiting long for a frame in
    progress: `output(t)` under `lock` if it can be had within `lock_wait_s`, else the
    last solution extrapolated to `t` (counted in `extrapolated`), else None."""

    def __init__(self, output: Callable[[int], FusedOutput], lock: threading.Lock, lock_wait_s: float) -> None:
        self._output = output
        self._lock = lock
        self._lock_wait_s = lock_wait_s
        self._last: FusedOutput | None = None
        self.extrapolated = 0

    def at(self, t_ns: int) -> FusedOutput | None:
        if self._lock.acquire(timeout=self._lock_wait_s):
            try:
                out = self._output(t_ns)
            finally:
                self._lock.release()
            self._last = out
            return out
        if self._last is None:
            return None
        self.extrapolated += 1
        return extrapolate(self._last, t_ns)


@dataclass(frozen=True)
class Timeline:
    """The one fixed mapping between the dataset's clock and the link's (the
    process monotonic clock): dataset time `t` is link time `t - t_first_ns + start_ns`."""

    t_first_ns: int
    start_ns: int

    def link_ns(self, dataset_ns: int) -> int:
        return dataset_ns - self.t_first_ns + self.start_ns

    def dataset_ns(self, link_ns: int) -> int:
        return link_ns - self.start_ns + self.t_first_ns


@dataclass(frozen=True)
class FeedStats:
    """What a `PositionFeed` sent: position messages, frame capture -> first send
    after it (ms, in frame order), extrapolated sends, and errors survived."""

    positions_sent: int
    latencies_ms: tuple[float, ...]
    extrapolated: int
    errors: int


class PositionFeed:
    """An output thread that sends a pipeline's solution over `link` every 1/rate s
    of the link clock and right after each frame, as the live runtime does.

    The pipeline runs on dataset time: the solution sent at link time `now` is
    `output(timeline.dataset_ns(now))`, stamped valid at `now`, with the capture
    time of the last processed frame mapped to the link clock. The pipeline is
    shared with the caller's thread under `lock`; if a frame holds it longer than
    `lock_wait_s`, the last solution is extrapolated instead of waiting. The
    caller reports frames with `frame_in` (released) and `frame_done` (its
    solution is in the pipeline), then `camera_ended`, then `stop`."""

    def __init__(self, link: FcLink, output: Callable[[int], FusedOutput], lock: threading.Lock, timeline: Timeline,
                 clock: Clock, *, rate_hz: float, camera_stall_s: float, lock_wait_s: float) -> None:
        self._link = link
        self._solutions = LockedSolution(output, lock, lock_wait_s)
        self._timeline = timeline
        self._clock = clock
        self._period_ns = int(1e9 / rate_hz)
        self._camera_stall_ns = int(camera_stall_s * 1e9)
        self._stop = threading.Event()
        self._fresh = threading.Event()
        self._thread: threading.Thread | None = None
        self._camera_ended = False
        self._last_frame_ns: int | None = None
        self._last_capture_ns: int | None = None
        self._latency_pending: int | None = None
        self._pending_lock = threading.Lock()  # frame_done (caller) vs the send that takes it
        self._health = HealthAnnouncer(link)
        self._sent = 0
        self._errors = 0
        self._latencies_ms: list[float] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gdn-replay-output", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> FeedStats:
        """Stop sending (idempotent); returns what was sent."""
        self._stop.set()
        self._fresh.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.stats()

    def stats(self) -> FeedStats:
        return FeedStats(self._sent, tuple(self._latencies_ms), self._solutions.extrapolated, self._errors)

    @property
    def latency_pending(self) -> bool:
        """A processed frame whose solution has not been sent yet."""
        return self._latency_pending is not None

    def frame_in(self, dataset_ns: int) -> None:
        """A frame captured at `dataset_ns` was released (the camera is alive)."""
        self._last_frame_ns = self._timeline.link_ns(dataset_ns)

    def frame_done(self, dataset_ns: int) -> None:
        """The frame captured at `dataset_ns` is in the pipeline: send its solution now."""
        capture = self._timeline.link_ns(dataset_ns)
        self._last_capture_ns = capture
        with self._pending_lock:
            self._latency_pending = capture
        self._fresh.set()

    def camera_ended(self) -> None:
        """No more frames: a silent camera is then no longer a fault to report."""
        self._camera_ended = True

    def _loop(self) -> None:
        for now in send_instants(self._clock, self._fresh, self._stop, self._period_ns):
            try:
                self._step(now)
            except (FcLinkError, ValueError, ArithmeticError) as exc:
                # One solution the link cannot encode must not end the feed: the
                # autopilot keeps getting the next ones (counted and logged).
                self._errors += 1
                _log.error("position not sent (continuing)", kind="replay_output_error", error=repr(exc))

    def _step(self, now: int) -> None:
        out = self._solutions.at(self._timeline.dataset_ns(now))
        stalled = self._last_frame_ns is not None and now - self._last_frame_ns > self._camera_stall_ns
        health, reason = output_health(out, camera_stalled=stalled, camera_ended=self._camera_ended)
        self._health.tick(health, reason)
        capture = self._last_capture_ns if self._last_capture_ns is not None else now
        position = position_output(out, health, valid_ns=now, capture_ns=capture)
        if position is None:
            return
        sent = self._link.send_position(position)
        self._sent += 1
        with self._pending_lock:
            pending, self._latency_pending = self._latency_pending, None
        if pending is not None:
            self._latencies_ms.append((sent.sent_ns - pending) / 1e6)
