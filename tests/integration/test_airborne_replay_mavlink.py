"""`airborne replay --mavlink`: a recorded flight replayed in real time into the
autopilot emulator over a real C2 link on UDP loopback (through the CLI), for
ArduPilot (GPS_INPUT) and PX4 (GLOBAL_POSITION_SENSOR + ODOMETRY); a link that
cannot be opened; a build without C2; Ctrl-C in the middle.

The emulator replays the same flight and judges every position against its
truth, so it is started on the replay's clock mapping: `--start-at` puts the
first frame at a known instant, and the emulator's dataset t0 at the matching one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gps_denied_onboard.autopilot_emulator import AutopilotEmulator, EmulatorConfig, EmulatorReport, FlightTrack
from gps_denied_onboard.cli.airborne_main import main as airborne_main
from gps_denied_onboard.clock import WallClock
from gps_denied_onboard.dataset import read_estimates, read_flight
from gps_denied_onboard.runtime_root.airborne_replay import replay_flight
from gps_denied_onboard.runtime_root.demo import DemoParams, Prepared, prepare

PARAMS = DemoParams(seed=3, world_px=1024, duration_s=8.0, fps=5.0)
START_IN_S = 3.0  # CLI start-up (map, pipeline, link, TIMESYNC) before the first frame is due
SENT_LINE = re.compile(r"(\d+) position messages sent to (\S+) \(capture -> send p50 ([\d.]+) ms p99 ([\d.]+) ms\)")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(PARAMS, tmp_path_factory.mktemp("replay_inputs"), rebuild=False, say=lambda _: None)


@pytest.fixture(scope="module")
def offline(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same flight replayed as fast as possible, without a link."""
    out = tmp_path_factory.mktemp("offline")
    replay_flight(prepared.flight_dir, out, map_path=prepared.pair_dir / "map.tif")
    return out


def _emulator_on_replay_clock(prepared: Prepared, autopilot: str) -> tuple[AutopilotEmulator, float]:
    """An emulator flying the flight so that its dataset time matches the replay's
    (`t_link = t - t_first_frame + link_start`), and the `--start-at` value for it."""
    ds = read_flight(prepared.flight_dir)
    track = FlightTrack.from_dataset(ds)
    clock = WallClock()
    start_unix = clock.unix_ns() + int(START_IN_S * 1e9)
    link_start = clock.monotonic_ns() + (start_unix - clock.unix_ns())
    emu = AutopilotEmulator(track, EmulatorConfig(autopilot=autopilot))
    emu.start(link_start - (int(ds.frames[0].t_ns) - track.t0_ns))
    return emu, start_unix / 1e9


def _replay_cli(prepared: Prepared, out: Path, *extra: str) -> list[str]:
    return ["replay", "--flight", str(prepared.flight_dir), "--map", str(prepared.pair_dir / "map.tif"),
            "--out", str(out), *extra]


@pytest.mark.parametrize(("autopilot", "msg_type"), [("ardupilot", "GPS_INPUT"), ("px4", "GLOBAL_POSITION_SENSOR")])
def test_replay_feeds_the_autopilot_in_real_time(prepared: Prepared, offline: Path, tmp_path: Path, autopilot: str,
                                                  msg_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    emu, start_at = _emulator_on_replay_clock(prepared, autopilot)
    out = tmp_path / "out"
    emu_url = emu.url
    try:
        code = airborne_main(_replay_cli(prepared, out, "--mavlink", emu_url, "--autopilot", autopilot,
                                         "--start-at", f"{start_at:.6f}"))
    finally:
        report: EmulatorReport = emu.stop()
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "pacing the replay in real time" in printed.err  # --realtime was not given
    sent = SENT_LINE.search(printed.out)
    assert sent is not None, printed.out
    n_sent, url, p50, p99 = int(sent[1]), sent[2], float(sent[3]), float(sent[4])
    assert url == emu_url
    print(printed.out, *report.lines(msg_type), sep="\n")  # the figures, with -s

    # What the emulated autopilot saw: full rate, no gap, accepted by its EKF-style gate.
    msgs = report.of_type(msg_type)
    assert abs(len(msgs) - n_sent) <= 1, (len(msgs), n_sent)  # UDP loopback: all of them (the last may race stop)
    first_3d = next(j.receipt_ns for j in msgs if j.fix_type == 3)
    assert report.rate_hz(msg_type, start_ns=first_3d) >= 5.0
    assert report.max_gap_s(msg_type) <= 0.3, report.lines(msg_type)
    assert report.acceptance_ratio(msg_type) >= 0.99, report.lines(msg_type)
    assert len([j for j in msgs if j.judged]) >= 40
    assert not report.field_problems, report.field_problems
    assert report.companion_heartbeats >= 5
    if autopilot == "px4":
        assert len(report.of_type("ODOMETRY")) >= 40 and report.acceptance_ratio("ODOMETRY") >= 0.99
    # Positions are stamped valid at the send instant on the mapped clock: received at once.
    delays = sorted(report.delays_ms(msg_type))
    assert delays and delays[len(delays) // 2] < 20.0
    assert 0.0 < p50 <= p99 <= 1000.0

    # The estimate files are those of the same replay without a link.
    est = read_estimates(out)
    assert len(est.timing) == len(read_flight(prepared.flight_dir).frames)
    for name in ("track.csv", "fixes.csv"):
        assert (out / name).read_bytes() == (offline / name).read_bytes(), name


def test_a_link_that_cannot_be_opened_fails_before_writing(prepared: Prepared, offline: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    url = "serial:/dev/does-not-exist:57600"
    fresh = tmp_path / "fresh"
    assert airborne_main(_replay_cli(prepared, fresh, "--mavlink", url)) == 1
    err = capsys.readouterr().err
    assert url in err and "No such file or directory" in err, err
    assert not fresh.exists()
    # A previous replay's estimates in --out are left as they were.
    before = {p.name: p.read_bytes() for p in offline.iterdir()}
    assert airborne_main(_replay_cli(prepared, offline, "--mavlink", url)) == 1
    assert {p.name: p.read_bytes() for p in offline.iterdir()} == before
    read_estimates(offline)
    assert airborne_main(_replay_cli(prepared, fresh, "--mavlink", "tcp:127.0.0.1:5760")) == 1
    assert "tcp:127.0.0.1:5760" in capsys.readouterr().err and not fresh.exists()


def test_a_build_without_c2_says_so(prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from gps_denied_onboard.runtime_root import availability

    real = availability.component_available
    monkeypatch.setattr(availability, "component_available", lambda c: c != "c2_fc_link" and real(c))
    out = tmp_path / "out"
    assert airborne_main(_replay_cli(prepared, out, "--mavlink", "udpout:127.0.0.1:14550")) == 1
    err = capsys.readouterr().err
    assert "c2_fc_link" in err and "not built" in err, err
    assert not out.exists()


def test_ctrl_c_closes_the_link_and_keeps_the_estimates(prepared: Prepared, tmp_path: Path) -> None:
    ds = read_flight(prepared.flight_dir)
    emu = AutopilotEmulator(FlightTrack.from_dataset(ds))
    emu.start()
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gps_denied_onboard.cli.airborne_main import main; sys.exit(main())",
         *_replay_cli(prepared, out, "--mavlink", emu.url)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and len(emu.report().of_type()) < 25 and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        time.sleep(0.2)  # datagrams already on the loopback
        received = len(emu.report().of_type())
        time.sleep(0.5)
        after = len(emu.report().of_type())
    finally:
        if proc.poll() is None:
            proc.kill()
        emu.stop()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and str(out) in err
    assert after == received  # the link is closed: nothing is sent after the process ended
    est = read_estimates(out)  # every row written so far is whole and readable
    assert 0 < len(est.timing) < len(ds.frames)
