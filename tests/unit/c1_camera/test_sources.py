"""C1: every source yields strictly increasing capture timestamps, counts what it lost,
turns unreadable frames into explicit gaps, and a stalled live device reconnects."""

from __future__ import annotations

import numpy as np
import pytest

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c1_camera import (
    CameraConfigError,
    CameraOpenError,
    FrameSource,
    OpenCvCaptureSource,
    ReplaySource,
    SimulatorSource,
)

IMG = np.zeros((4, 6, 3), np.uint8)
MS = 1_000_000


def _ok() -> np.ndarray:
    return IMG


def _bad() -> np.ndarray:
    raise OSError("truncated PNG")


def test_replay_reports_corrupt_frames_and_gaps() -> None:
    frames = [(0, _ok), (100 * MS, _bad), (200 * MS, _ok), (500 * MS, _ok), (450 * MS, _ok), (600 * MS, _ok)]
    src = ReplaySource(frames, FakeClock())
    assert isinstance(src, FrameSource)
    out = []
    while (f := src.read()) is not None:
        out.append(f)
    ts = [f.timestamp_ns for f in out]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    assert out[1].image is None and "corrupt" in out[1].error
    assert src.stats.out_of_order == 1  # 450 ms after 500 ms
    assert src.stats.corrupt == 1
    assert src.stats.dropped == 1 + 2  # the corrupt one + two missing between 200 and 500 ms
    assert src.stats.delivered == 4


def test_replay_realtime_paces_on_the_clock() -> None:
    clock = FakeClock()
    start = clock.monotonic_ns()
    src = ReplaySource([(t * 100 * MS, _ok) for t in range(5)], clock, realtime=True)
    while src.read() is not None:
        pass
    assert clock.monotonic_ns() - start == pytest.approx(400 * MS, abs=1 * MS)


def test_simulator_source_counts_lost_frames() -> None:
    src = SimulatorSource(lambda t: None if t == 200 * MS else IMG, 10.0, 5, FakeClock())
    frames = [src.read() for _ in range(6)]
    assert frames[-1] is None
    assert [f.timestamp_ns for f in frames[:5]] == [0, 100 * MS, 200 * MS, 300 * MS, 400 * MS]  # type: ignore[union-attr]
    assert frames[2].image is None and src.stats.dropped == 1  # type: ignore[union-attr]
    with pytest.raises(CameraConfigError):
        SimulatorSource(lambda t: IMG, 0.0, 5, FakeClock())


class _FakeCapture:
    """A device that delivers `good` frames, then nothing until reopened."""

    opened = 0

    def __init__(self, good: int, clock: FakeClock) -> None:
        _FakeCapture.opened += 1
        self.good, self.clock = good, clock

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.clock.advance(0.1)
        if self.good > 0:
            self.good -= 1
            return True, IMG
        return False, None

    def release(self) -> None:
        pass


def test_live_capture_detects_a_stall_and_reconnects() -> None:
    clock = FakeClock()
    _FakeCapture.opened = 0
    src = OpenCvCaptureSource(0, clock, stall_timeout_s=1.0, capture_factory=lambda d: _FakeCapture(3, clock))
    got = [src.read() for _ in range(5)]
    assert [g.image is not None for g in got] == [True, True, True, False, True]  # type: ignore[union-attr]
    assert got[3].error == "stall"  # type: ignore[union-attr]
    assert src.stats.stalls == 1 and src.stats.reconnects == 1 and _FakeCapture.opened == 2
    ts = [g.timestamp_ns for g in got]  # type: ignore[union-attr]
    assert ts == sorted(ts)
    src.close()


def test_device_that_never_opens_is_a_typed_error() -> None:
    class Closed(_FakeCapture):
        def isOpened(self) -> bool:  # noqa: N802
            return False

    clock = FakeClock()
    with pytest.raises(CameraOpenError) as info:
        OpenCvCaptureSource("/dev/video9", clock, open_attempts=2, capture_factory=lambda d: Closed(0, clock))
    assert info.value.attempts == 2 and info.value.device == "/dev/video9"
