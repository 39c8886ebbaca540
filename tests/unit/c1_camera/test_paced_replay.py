"""C1 replay as the airborne runtime uses it: released on the process clock at a fixed
schedule and stamped with it, bounded waits that keep the reader's heartbeat, a
reopened source that skips the backlog, and the live source's config strings."""

from __future__ import annotations

import numpy as np
import pytest

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c1_camera import (
    FRAME_STALL,
    CameraConfigError,
    CapturedFrame,
    OpenCvCaptureSource,
    ReplaySource,
    SimulatorSource,
)

IMG = np.zeros((4, 6, 3), np.uint8)
MS = 1_000_000
REC_T0 = 5_000 * MS  # recording timestamps are unrelated to the process clock


def _frames(n: int) -> list[tuple[int, object]]:
    return [(REC_T0 + k * 100 * MS, lambda: IMG) for k in range(n)]


def test_scheduled_replay_is_stamped_on_the_process_clock() -> None:
    clock = FakeClock()
    start = clock.monotonic_ns() + 1_000 * MS
    src = ReplaySource(_frames(3), clock, start_ns=start)  # type: ignore[arg-type]
    got = [src.read(), src.read(), src.read()]
    assert [f.timestamp_ns for f in got] == [start, start + 100 * MS, start + 200 * MS]  # type: ignore[union-attr]
    assert clock.monotonic_ns() == start + 200 * MS  # released exactly when due
    assert src.read() is None and src.exhausted


def test_timeout_returns_none_without_consuming_the_frame() -> None:
    clock = FakeClock()
    start = clock.monotonic_ns() + 500 * MS
    src = ReplaySource(_frames(2), clock, start_ns=start)  # type: ignore[arg-type]
    assert src.read(0.1) is None and not src.exhausted
    assert clock.monotonic_ns() == start - 400 * MS  # waited only the timeout
    frame = src.read(1.0)
    assert frame is not None and frame.sequence == 0 and frame.timestamp_ns == start


def test_reopened_replay_skips_the_backlog() -> None:
    clock = FakeClock()
    start = clock.monotonic_ns()
    clock.advance(0.25)  # frames due at +0, +100, +200 ms have passed
    src = ReplaySource(_frames(5), clock, start_ns=start, skip_past=True)  # type: ignore[arg-type]
    frame = src.read()
    assert frame is not None and frame.sequence == 3 and frame.timestamp_ns == start + 300 * MS
    assert src.stats.dropped == 3
    with pytest.raises(CameraConfigError):
        ReplaySource(_frames(2), clock, skip_past=True)  # type: ignore[arg-type]


def test_simulator_timeout_keeps_the_frame() -> None:
    clock = FakeClock()
    src = SimulatorSource(lambda t: IMG, 2.0, 2, clock, realtime=True)
    assert src.read(0.1) is not None  # frame 0 is due at once
    assert src.read(0.1) is None and not src.exhausted  # frame 1 is due at +500 ms
    assert src.read() is not None and src.exhausted


def test_live_spec_strings() -> None:
    with pytest.raises(CameraConfigError) as info:
        OpenCvCaptureSource.from_spec("rtsp://cam", FakeClock())
    assert info.value.value == "rtsp://cam"
    with pytest.raises(CameraConfigError):
        OpenCvCaptureSource.from_spec("v4l2:", FakeClock())


def test_stall_marker_is_not_a_frame() -> None:
    assert CapturedFrame(1, 1, None, FRAME_STALL).is_stall
    assert not CapturedFrame(1, 1, None, "corrupt: x").is_stall
    assert not CapturedFrame(1, 1, IMG, FRAME_STALL).is_stall
