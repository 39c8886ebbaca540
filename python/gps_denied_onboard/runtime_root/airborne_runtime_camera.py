"""Frame sources for the airborne runtime's camera thread.

Every frame is stamped on this process's monotonic clock when it becomes
available (the live camera) or at its scheduled replay time (a dataset paced to
its own timestamps, for bench and rehearsal runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.clock import Clock
from gps_denied_onboard.dataset import DatasetError, FlightDataset

Image = npt.NDArray[np.uint8]


class CameraSourceError(Exception):
    """The camera could not be opened or configured (names the device)."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    capture_ns: int
    image: Image | None  # None: a frame arrived but could not be decoded
    index: int


class FrameSource(Protocol):
    """What the camera thread reads. `read` blocks up to `timeout_s`; None means no
    frame yet. `exhausted` is True when a finite source (a replay) has ended."""

    description: str

    def read(self, timeout_s: float) -> CapturedFrame | None: ...

    @property
    def exhausted(self) -> bool: ...

    def close(self) -> None: ...


class ReplayFrameSource:
    """A flight dataset's frames, each released at start_ns + (t - t0) on `clock`."""

    def __init__(self, flight: FlightDataset, clock: Clock, start_ns: int, *, skip_past: bool = False) -> None:
        self._flight = flight
        self._clock = clock
        self._start_ns = start_ns
        self._t0 = int(flight.frames[0].t_ns)
        self._next = 0
        if skip_past:  # a reopened camera shows what is in front of it now, not a backlog
            now = clock.monotonic_ns()
            while self._next < len(flight.frames) and self.due_ns(self._next) < now:
                self._next += 1
        self.description = f"replay of {flight.root} ({len(flight.frames)} frames)"

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self._flight.frames)

    @property
    def next_index(self) -> int:
        return self._next

    def due_ns(self, index: int) -> int:
        return self._start_ns + (int(self._flight.frames[index].t_ns) - self._t0)

    def read(self, timeout_s: float) -> CapturedFrame | None:
        if self.exhausted:
            self._clock.sleep(timeout_s)
            return None
        due = self.due_ns(self._next)
        wait = (due - self._clock.monotonic_ns()) / 1e9
        if wait > timeout_s:
            self._clock.sleep(timeout_s)
            return None
        self._clock.sleep(wait)
        index = self._next
        self._next += 1
        try:
            image: Image | None = self._flight.load_frame(index)
        except DatasetError:
            image = None  # the vision thread counts and reports an undecodable frame
        return CapturedFrame(due, image, index)

    def close(self) -> None:
        self._next = len(self._flight.frames)


class OpenCvCameraSource:
    """A live camera through OpenCV: `v4l2:/dev/videoN` or `gst:<pipeline ... ! appsink>`."""

    def __init__(self, spec: str, clock: Clock) -> None:
        import cv2

        scheme, _, target = spec.partition(":")
        self._clock = clock
        self.description = spec
        if scheme == "v4l2":
            self._cap: Any = cv2.VideoCapture(target, cv2.CAP_V4L2)
        elif scheme == "gst":
            self._cap = cv2.VideoCapture(target, cv2.CAP_GSTREAMER)
        else:
            raise CameraSourceError(f"unsupported camera {spec!r}: use v4l2:DEV or gst:PIPELINE")
        if not self._cap.isOpened():
            raise CameraSourceError(f"cannot open camera {spec!r}")
        self._index = 0

    @property
    def exhausted(self) -> bool:
        return False

    def read(self, timeout_s: float) -> CapturedFrame | None:
        del timeout_s  # VideoCapture.read blocks until the driver has a frame; the thread absorbs it
        ok, image = self._cap.read()
        now = self._clock.monotonic_ns()
        if not ok:
            return None
        self._index += 1
        return CapturedFrame(now, image, self._index - 1)

    def close(self) -> None:
        self._cap.release()
