"""Frame sources: dataset replay (real-time or as fast as possible), live OpenCV capture
(V4L2 / GStreamer pipelines / files) with stall detection and reconnect, and a
simulator source driven by a render callable (so the airborne code never imports C12)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.clock import Clock
from gps_denied_onboard.components.c1_camera.errors import CameraConfigError, CameraOpenError
from gps_denied_onboard.components.c1_camera.interface import FRAME_STALL, CapturedFrame, SourceStats
from gps_denied_onboard.logging import get_logger

Image = npt.NDArray[np.uint8]
_log = get_logger("c1_camera")


class _Monotonic:
    """Refuses non-increasing timestamps and counts gaps longer than 1.5 periods as drops."""

    def __init__(self, stats: SourceStats, period_ns: int | None) -> None:
        self.stats = stats
        self.period_ns = period_ns
        self.last: int | None = None

    def admit(self, t_ns: int) -> bool:
        if self.last is not None and t_ns <= self.last:
            self.stats.out_of_order += 1
            return False
        if self.last is not None and self.period_ns:
            gap = t_ns - self.last
            if gap > 1.5 * self.period_ns:
                self.stats.dropped += int(round(gap / self.period_ns)) - 1
        self.last = t_ns
        return True


class ReplaySource:
    """Frames from a recording: `frames` are (capture t_ns, loader) pairs; a loader that
    raises yields a frame with `image=None`.

    Pacing: with `realtime` the source sleeps on `clock` so frames come out at the
    recorded pace, anchored at the first read and stamped with their recorded time.
    With `start_ns` the recording is replayed as if its first frame were captured at
    `start_ns` on `clock`: frame k is released at start_ns + (t_k - t_0) and stamped
    with that time (the process's clock, so it lines up with live telemetry). With
    `skip_past` (needs `start_ns`) frames already overdue when the source opens are
    skipped and counted as dropped: a reopened camera shows what is in front of it
    now, not a backlog."""

    def __init__(self, frames: Sequence[tuple[int, Callable[[], Image]]], clock: Clock, *, realtime: bool = False,
                 start_ns: int | None = None, skip_past: bool = False,
                 loader_errors: tuple[type[BaseException], ...] = (OSError, ValueError)) -> None:
        if skip_past and start_ns is None:
            raise CameraConfigError("skip_past", skip_past, "start_ns as well (skipping needs a schedule)")
        self._frames = list(frames)
        self._clock = clock
        self._realtime = realtime or start_ns is not None
        self._restamp = start_ns is not None
        self._errors = loader_errors
        self._i = 0
        self._stats = SourceStats()
        period = None
        if len(self._frames) > 1:
            period = int(np.median(np.diff([f[0] for f in self._frames])))
        self._mono = _Monotonic(self._stats, period)
        self._t_first = self._frames[0][0] if self._frames else 0
        self._start_ns = start_ns
        if skip_past:
            now = clock.monotonic_ns()
            while self._i < len(self._frames) and self._due_ns(self._i) < now:
                self._i += 1
                self._stats.dropped += 1

    @classmethod
    def from_flight(cls, flight: Any, clock: Clock, *, realtime: bool = False, start_ns: int | None = None,
                    skip_past: bool = False) -> ReplaySource:
        """From a `gps_denied_onboard.dataset.FlightDataset`."""
        from gps_denied_onboard.dataset import DatasetError

        frames = [(f.t_ns, (lambda k=k: flight.load_frame(k))) for k, f in enumerate(flight.frames)]
        return cls(frames, clock, realtime=realtime, start_ns=start_ns, skip_past=skip_past,
                   loader_errors=(DatasetError, OSError, ValueError))

    @property
    def stats(self) -> SourceStats:
        return self._stats

    @property
    def exhausted(self) -> bool:
        return self._i >= len(self._frames)

    def _due_ns(self, index: int) -> int:
        assert self._start_ns is not None
        return self._start_ns + (self._frames[index][0] - self._t_first)

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        while self._i < len(self._frames):
            t, load = self._frames[self._i]
            if self._realtime:
                if self._start_ns is None:  # anchored so that the first frame read is due now
                    self._start_ns = self._clock.monotonic_ns() - (t - self._t_first)
                wait_s = (self._due_ns(self._i) - self._clock.monotonic_ns()) * 1e-9
                if timeout_s is not None and wait_s > timeout_s:
                    self._clock.sleep(timeout_s)
                    return None  # not due yet: the frame stays next
                if wait_s > 0:
                    self._clock.sleep(wait_s)
            seq = self._i
            self._i += 1
            if not self._mono.admit(t):
                continue
            stamp = self._due_ns(seq) if self._restamp else t
            try:
                image = load()
            except self._errors as exc:
                self._stats.corrupt += 1
                self._stats.dropped += 1
                _log.warning("frame unreadable", kind="frame_corrupt", frame=t, error=str(exc))
                return CapturedFrame(stamp, seq, None, f"corrupt: {exc}")
            self._stats.delivered += 1
            return CapturedFrame(stamp, seq, image)
        return None

    def close(self) -> None:
        self._i = len(self._frames)


class SimulatorSource:
    """Frames rendered on demand: `render(t_ns)` returns the image seen at t (or None for
    a frame the simulated camera lost). Timestamps are `t0_ns + k / rate_hz`."""

    def __init__(self, render: Callable[[int], Image | None], rate_hz: float, n_frames: int, clock: Clock, *,
                 t0_ns: int = 0, realtime: bool = False) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise CameraConfigError("rate_hz", rate_hz, "a positive frame rate")
        if n_frames < 0:
            raise CameraConfigError("n_frames", n_frames, ">= 0")
        self._render, self._period = render, int(round(1e9 / rate_hz))
        self._n, self._k, self._t0 = n_frames, 0, t0_ns
        self._clock, self._realtime = clock, realtime
        self._stats = SourceStats()
        self._start: int | None = None

    @property
    def stats(self) -> SourceStats:
        return self._stats

    @property
    def exhausted(self) -> bool:
        return self._k >= self._n

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        if self._k >= self._n:
            return None
        k = self._k
        if self._realtime:
            if self._start is None:
                self._start = self._clock.monotonic_ns()
            wait_s = (k * self._period - (self._clock.monotonic_ns() - self._start)) * 1e-9
            if timeout_s is not None and wait_s > timeout_s:
                self._clock.sleep(timeout_s)
                return None
            if wait_s > 0:
                self._clock.sleep(wait_s)
        self._k += 1
        t = self._t0 + k * self._period
        image = self._render(t)
        if image is None:
            self._stats.dropped += 1
            return CapturedFrame(t, k, None, "lost")
        self._stats.delivered += 1
        return CapturedFrame(t, k, image)

    def close(self) -> None:
        self._k = self._n


class OpenCvCaptureSource:
    """Live capture through `cv2.VideoCapture` (a V4L2 index, a device path, a GStreamer
    pipeline string, or a file). Timestamps are taken on `clock` when a frame
    arrives; a device that returns nothing for `stall_timeout_s` is released and
    reopened (with `reconnect_backoff_s` between attempts), forever: a camera that
    comes back must be picked up in flight."""

    def __init__(self, device: int | str, clock: Clock, *, nominal_rate_hz: float = 10.0,
                 stall_timeout_s: float = 1.0, reconnect_backoff_s: float = 0.5, open_attempts: int = 3,
                 capture_factory: Callable[[int | str], Any] | None = None) -> None:
        if not (math.isfinite(stall_timeout_s) and stall_timeout_s > 0):
            raise CameraConfigError("stall_timeout_s", stall_timeout_s, "a positive number of seconds")
        if not (math.isfinite(nominal_rate_hz) and nominal_rate_hz > 0):
            raise CameraConfigError("nominal_rate_hz", nominal_rate_hz, "a positive frame rate")
        self._device = device
        self._clock = clock
        self._stall_ns = int(stall_timeout_s * 1e9)
        self._backoff = reconnect_backoff_s
        self._factory = capture_factory or _default_capture
        self._stats = SourceStats()
        self._mono = _Monotonic(self._stats, int(1e9 / nominal_rate_hz))
        self._seq = 0
        self._cap: Any = None
        for attempt in range(1, open_attempts + 1):
            if self._open():
                break
            if attempt == open_attempts:
                raise CameraOpenError(str(device), attempt)
            self._clock.sleep(self._backoff)
        self._last_ok_ns = self._clock.monotonic_ns()

    def _open(self) -> bool:
        if self._cap is not None:
            self._cap.release()
        self._cap = self._factory(self._device)
        return bool(self._cap is not None and self._cap.isOpened())

    @classmethod
    def from_spec(cls, spec: str, clock: Clock, **kwargs: Any) -> OpenCvCaptureSource:
        """From the airborne config's camera string: `v4l2:/dev/videoN` (V4L2 backend)
        or `gst:<pipeline ... ! appsink>` (GStreamer backend)."""
        scheme, _, target = spec.partition(":")
        if scheme not in ("v4l2", "gst") or not target:
            raise CameraConfigError("camera", spec, "v4l2:DEVICE or gst:PIPELINE")
        return cls(target, clock, capture_factory=lambda dev: _default_capture(dev, backend=scheme), **kwargs)

    @property
    def stats(self) -> SourceStats:
        return self._stats

    @property
    def exhausted(self) -> bool:
        return False  # a live camera never ends; a dead one is reconnected

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        """Blocks until a frame arrives, a stall is declared or `timeout_s` passes
        (then None). A stall yields an `image=None` frame (error FRAME_STALL) after a
        reconnect attempt. The driver's own read may block longer than `timeout_s`."""
        deadline = None if timeout_s is None else self._clock.monotonic_ns() + int(timeout_s * 1e9)
        while True:
            ok, image = (False, None)
            if self._cap is not None and self._cap.isOpened():
                ok, image = self._cap.read()
            now = self._clock.monotonic_ns()
            if ok and image is not None and getattr(image, "size", 0) > 0:
                if not self._mono.admit(now):
                    continue
                self._last_ok_ns = now
                self._seq += 1
                self._stats.delivered += 1
                return CapturedFrame(now, self._seq, np.ascontiguousarray(image, dtype=np.uint8))
            if now - self._last_ok_ns >= self._stall_ns:
                self._stats.stalls += 1
                self._stats.reconnects += 1
                _log.warning("camera stalled: reconnecting", kind="camera_stall", device=str(self._device),
                             stalled_s=(now - self._last_ok_ns) * 1e-9)
                self._open()
                self._last_ok_ns = self._clock.monotonic_ns()
                self._seq += 1
                return CapturedFrame(now, self._seq, None, FRAME_STALL)
            if deadline is not None and now >= deadline:
                return None
            self._clock.sleep(min(0.01, self._backoff))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _default_capture(device: int | str, backend: str = "") -> Any:
    import cv2

    if backend == "gst" or (not backend and isinstance(device, str) and "!" in device):  # a GStreamer pipeline
        return cv2.VideoCapture(device, cv2.CAP_GSTREAMER)
    if backend == "v4l2":
        return cv2.VideoCapture(device, cv2.CAP_V4L2)
    return cv2.VideoCapture(device)
