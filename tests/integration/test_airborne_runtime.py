"""The runtime's threads with a scripted pipeline and camera (no vision cost): the
output keeps its rate while a frame holds the pipeline, errors at a worker's
boundary are survived and recorded, a dead worker is restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from gps_denied_onboard.autopilot_emulator import AutopilotEmulator, EmulatorReport, straight_line_track
from gps_denied_onboard.clock import WallClock
from gps_denied_onboard.components.c1_camera import CapturedFrame, SourceStats
from gps_denied_onboard.components.c2_fc_link import FcLink
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig
from gps_denied_onboard.fdr_client.testing import FakeFdrSink
from gps_denied_onboard.runtime_root.airborne_outputs import FusedOutput
from gps_denied_onboard.runtime_root.airborne_runtime import AirborneRuntime, RuntimeSettings
from tests.testlib.logging_state import restore_gdn_logging  # noqa: F401 - autouse fixture


@dataclass(frozen=True)
class Report:
    attempted: bool = True
    accepted: bool = True
    reason: str = ""


class ScriptedPipeline:
    """Positions from the emulator's truth; `on_frame` takes `frame_s` and raises on
    every `fail_every`-th frame."""

    def __init__(self, emu: AutopilotEmulator, track: Any, frame_s: float, fail_every: int = 0) -> None:
        self.emu, self.track, self.frame_s, self.fail_every = emu, track, frame_s, fail_every
        self.frames = 0
        self.health_at: Any = None  # t_ns -> "ok" | "degraded" | "lost" (scripted health)
        self.attitudes = 0
        self.altitudes = 0

    def on_attitude(self, t_ns: int, roll: float, pitch: float, yaw: float) -> None:
        self.attitudes += 1

    def on_altitude(self, t_ns: int, agl: float, msl: float) -> None:
        self.altitudes += 1

    def on_frame(self, t_ns: int, image: Any) -> Report:
        self.frames += 1
        time.sleep(self.frame_s)
        if self.fail_every and self.frames % self.fail_every == 0:
            raise ValueError("scripted failure")
        return Report()

    def output(self, t_ns: int) -> FusedOutput:
        truth = self.track.truth_at(self.emu.flight_from_mono(t_ns))
        health = self.health_at(t_ns) if self.health_at is not None else "ok"
        return FusedOutput(t_ns, truth.lat_deg, truth.lon_deg, truth.alt_m, truth.vn, truth.ve, truth.vd, 1.0, 0.0, 1.0,
                   "fix" if health != "lost" else "vo", health)


class TickCamera:
    """A live C1 frame source (FrameSource protocol) ticking every `period_s`."""

    def __init__(self, period_s: float, die_after: int = 0) -> None:
        self.period_s, self.die_after, self.n = period_s, die_after, 0
        self.stats = SourceStats()

    @property
    def exhausted(self) -> bool:
        return False

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        time.sleep(self.period_s)
        self.n += 1
        if self.die_after and self.n == self.die_after:
            raise SystemExit("driver took the thread down")  # escapes the worker's Exception boundary
        return CapturedFrame(time.monotonic_ns(), self.n, np.zeros((4, 4, 3), np.uint8))

    def close(self) -> None:
        pass


class NoFrames:
    exhausted = False
    stats = SourceStats()

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        time.sleep(timeout_s or 0.1)
        return None

    def close(self) -> None:
        pass


def _run(frame_s: float, seconds: float, fail_every: int = 0, die_after: int = 0
         ) -> Iterator[tuple[AirborneRuntime, ScriptedPipeline, EmulatorReport, FakeFdrSink, FakeFdrSink]]:
    track = straight_line_track(seconds + 2.0, attitude_hz=20.0)
    emu = AutopilotEmulator(track)
    link = FcLink(FcLinkConfig(url=emu.url, link_timeout_s=1.0))
    pipe = ScriptedPipeline(emu, track, frame_s, fail_every)
    vision, sup, out = FakeFdrSink("vision"), FakeFdrSink("runtime"), FakeFdrSink("runtime.output")
    cameras: list[TickCamera] = []

    def camera() -> TickCamera:
        cameras.append(TickCamera(0.2, die_after if not cameras else 0))
        return cameras[-1]

    runtime = AirborneRuntime(pipeline=pipe, link=link, camera_factory=camera, clock=WallClock(),
                              settings=RuntimeSettings(output_rate_hz=10.0, supervise_interval_s=0.1),
                              fdr_vision=vision, fdr_output=out, fdr_supervisor=sup)
    link.start()
    emu.start()
    runtime.start()
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    runtime.run(stop)
    runtime.stop()
    link.stop()
    report = emu.stop()
    yield runtime, pipe, report, vision, sup


def test_output_keeps_rate_while_a_frame_holds_the_pipeline() -> None:
    runtime, pipe, report, _, _ = next(_run(frame_s=0.35, seconds=4.0))
    assert pipe.frames >= 5 and pipe.attitudes > 20 and pipe.altitudes > 5
    assert runtime.counters.extrapolated > 5  # the output did not wait for the frame
    assert report.max_gap_s() < 0.2 and report.rate_hz() >= 9.0
    assert report.acceptance_ratio() == 1.0  # extrapolated positions are still right


def test_worker_errors_are_survived_and_recorded() -> None:
    runtime, pipe, report, vision, _ = next(_run(frame_s=0.02, seconds=3.0, fail_every=3))
    assert runtime.counters.worker_errors >= 3 and pipe.frames >= 9
    assert [r.payload["thread"] for r in vision.of_kind("runtime.worker_error")][:1] == ["vision"]
    assert report.max_gap_s() < 0.2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the test
def test_a_dead_worker_is_restarted() -> None:
    runtime, pipe, report, _, sup = next(_run(frame_s=0.02, seconds=3.0, die_after=3))
    stalls = [r.payload for r in sup.of_kind("runtime.thread_stall")]
    assert any(s["thread"] == "camera" and "restarted" in s["action"] for s in stalls)
    assert runtime.counters.restarts >= 1
    assert pipe.frames >= 8  # frames flowed again after the restart
    assert any("camera thread stalled" in text for _, text in report.statustexts)


@pytest.mark.parametrize("rate", [5.0, 20.0])
def test_configured_output_rate(rate: float) -> None:
    track = straight_line_track(4.0, attitude_hz=20.0)
    emu = AutopilotEmulator(track)
    link = FcLink(FcLinkConfig(url=emu.url))
    pipe = ScriptedPipeline(emu, track, 0.01)
    runtime = AirborneRuntime(pipeline=pipe, link=link, camera_factory=NoFrames, clock=WallClock(),
                              settings=RuntimeSettings(output_rate_hz=rate))
    link.start()
    emu.start()
    runtime.start()
    time.sleep(2.5)
    runtime.stop()
    link.stop()
    report = emu.stop()
    assert report.rate_hz() == pytest.approx(rate, rel=0.1)


def test_airborne_run_startup_errors_are_one_line(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    from gps_denied_onboard.runtime_root.airborne import run_main

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        bad = tmp_path / "bad.yaml"
        bad.write_text("fc_link: [\n")
        assert run_main(["--config", str(bad)]) == 2
        assert "not valid YAML" in capsys.readouterr().err
        cfg = tmp_path / "airborne.yaml"
        cfg.write_text(f"airborne:\n  cache_dir: {tmp_path / 'no-cache'}\n  trusted_keys: [{tmp_path / 'k.pem'}]\n"
                       f"fdr:\n  flight_root: {tmp_path / 'flights'}\n")
        assert run_main(["--config", str(cfg)]) == 1
        err = capsys.readouterr().err
        assert "cannot start" in err and "map cache" in err and "Traceback" not in err
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("mode", ["request", "recovery"])
def test_position_reset_is_sent_once_at_the_first_healthy_output(mode: str) -> None:
    """A reset requested while the output is lost goes out once, when it is healthy
    again (never with the lost position); with `reset_after_lost_s` a long enough loss
    triggers one by itself. The emulator counts the MAV_CMD_EXTERNAL_POSITION_ESTIMATEs."""
    from gps_denied_onboard.runtime_root.airborne_position_reset import PositionResetSettings

    track = straight_line_track(6.0, attitude_hz=20.0)
    emu = AutopilotEmulator(track)
    link = FcLink(FcLinkConfig(url=emu.url))
    pipe = ScriptedPipeline(emu, track, 0.01)
    t0 = time.monotonic_ns()
    lost = (int(0.5e9), int(2.0e9))  # lost from 0.5 s to 2.0 s after start, healthy otherwise
    pipe.health_at = lambda t: "lost" if lost[0] <= t - t0 < lost[1] else "ok"
    reset = PositionResetSettings(reset_after_lost_s=1.0 if mode == "recovery" else 0.0)
    out = FakeFdrSink("runtime.output")
    runtime = AirborneRuntime(pipeline=pipe, link=link, camera_factory=lambda: TickCamera(0.2), clock=WallClock(),
                              settings=RuntimeSettings(output_rate_hz=10.0, position_reset=reset), fdr_output=out)
    link.start()
    emu.start()
    runtime.start()
    time.sleep(1.0)  # lost now
    if mode == "request":
        runtime.request_position_reset()
        runtime.request_position_reset()  # the same pending request
    time.sleep(2.5)  # healthy again from 2.0 s
    runtime.stop()
    link.stop()
    report = emu.stop()
    assert report.external_position_estimates == 1
    resets = [r.payload for r in out.of_kind("runtime.position_reset")]
    assert [r["action"] for r in resets] == [mode]
    assert resets[0]["valid_ns"] - t0 >= lost[1]  # sent after recovery, not while lost
    assert runtime.counters.position_resets == 1
    assert any("position reset sent" in text for _, text in report.statustexts)
