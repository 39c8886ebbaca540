"""FcLink against a raw pymavlink peer on UDP loopback: telemetry in, positions out,
TIMESYNC, alerts, and bad input (garbage, NaN, link drop and return)."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav2

from gps_denied_onboard.components.c2_fc_link import (
    FcLink,
    FcLinkClosedError,
    FcLinkConfigError,
    FcLinkTransportError,
    OutputHealth,
    PositionOutput,
    open_transport,
)
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig
from gps_denied_onboard.fdr_client.testing import FakeFdrSink


class Peer:
    """A minimal autopilot: a UDP socket speaking MAVLink as system 1, component 1."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.mav = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
        self.mav.robust_parsing = True
        self.addr: tuple[str, int] | None = None
        self.received: list[Any] = []

    @property
    def url(self) -> str:
        return f"udpout:127.0.0.1:{self.sock.getsockname()[1]}"

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.addr = addr
            self.received.extend(self.mav.parse_buffer(data) or [])

    def send(self, msg: Any) -> None:
        assert self.addr is not None, "the link has not spoken yet"
        self.sock.sendto(msg.pack(self.mav), self.addr)

    def raw(self, data: bytes) -> None:
        assert self.addr is not None
        self.sock.sendto(data, self.addr)

    def of(self, mtype: str) -> list[Any]:
        return [m for m in self.received if m.get_type() == mtype]


def wait_for(cond: Callable[[], bool], peer: Peer, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        peer.pump(0.02)
    return cond()


@pytest.fixture
def setup() -> Iterator[tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]]:
    peer = Peer()
    fdr, fdr_out = FakeFdrSink("c2_fc_link"), FakeFdrSink("c2_fc_link.out")
    cfg = FcLinkConfig(url=peer.url, link_timeout_s=0.3, heartbeat_rate_hz=5.0, timesync_rate_hz=5.0,
                       outputs=("gps_input", "global_position_sensor", "odometry"))
    link = FcLink(cfg, fdr=fdr, fdr_out=fdr_out)
    link.start()
    assert wait_for(lambda: bool(peer.of("HEARTBEAT")), peer)
    yield link, peer, fdr, fdr_out
    link.stop()
    peer.sock.close()


def _position(now: int, health: OutputHealth = OutputHealth.OK) -> PositionOutput:
    return PositionOutput(valid_ns=now, capture_ns=now - 50_000_000, lat_deg=50.45, lon_deg=30.52, alt_msl_m=220.0,
                          vn=1.0, ve=2.0, vd=0.0, cov_nn=4.0, cov_ne=0.0, cov_ee=4.0, health=health)


def _telemetry(peer: Peer, boot_ms: int, roll: float = 0.1) -> None:
    peer.send(peer.mav.heartbeat_encode(2, 3, 129, 0, 4))
    peer.send(peer.mav.attitude_encode(boot_ms, roll, 0.2, 0.3, 0, 0, 0))
    peer.send(peer.mav.global_position_int_encode(boot_ms, 0, 0, 220_000, 100_000, 0, 0, 0, 0))
    peer.send(peer.mav.extended_sys_state_encode(0, 2))


def test_telemetry_in_positions_out(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, _, fdr_out = setup
    _telemetry(peer, 1000)
    # Four datagrams: wait until the link thread has parsed the last of them, not just the first.
    assert wait_for(lambda: link.snapshot().attitude is not None and "relative" in link.snapshot().altitudes
                    and link.snapshot().landed_state.value != "unknown" and link.link_up, peer)
    snap = link.snapshot()
    assert snap.attitude is not None and snap.attitude.yaw_rad == pytest.approx(0.3)
    assert snap.altitudes["relative"].alt_m == 100.0 and snap.landed_state.value == "in_air"
    assert snap.autopilot_type == 3 and snap.armed is True
    report = link.send_position(_position(time.monotonic_ns()))
    assert report.fix_type == 3 and report.latency_ns >= 50_000_000
    assert set(report.messages) == {"gps_input", "global_position_sensor", "odometry"}
    assert wait_for(lambda: bool(peer.of("GPS_INPUT")) and bool(peer.of("ODOMETRY")), peer)
    gi = peer.of("GPS_INPUT")[-1]
    assert gi.lat == 504500000 and (gi.vn, gi.ve) == (1.0, 2.0) and gi.horiz_accuracy == pytest.approx(2.0)
    assert gi.time_week > 0 and gi.fix_type == 3
    assert peer.of("SET_GPS_GLOBAL_ORIGIN"), "ODOMETRY needs its origin announced"
    gps = peer.of("GLOBAL_POSITION_SENSOR")[-1]
    assert gps.eph == pytest.approx(2.0) and gps.flags == 2
    rec = fdr_out.of_kind("c2.position_out")
    assert rec and rec[-1].payload["latency_ns"] == report.latency_ns


def test_timesync_both_ways(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, fdr, _ = setup
    fc_offset = 7_000_000_000
    assert wait_for(lambda: any(m.tc1 == 0 for m in peer.of("TIMESYNC")), peer)
    request = [m for m in peer.of("TIMESYNC") if m.tc1 == 0][-1]
    peer.send(peer.mav.timesync_encode(time.monotonic_ns() + fc_offset, request.ts1))
    peer.send(peer.mav.timesync_encode(0, 12345))  # the autopilot asks us
    assert wait_for(lambda: link.snapshot().clock_offset_ns is not None and any(
        m.ts1 == 12345 and m.tc1 > 0 for m in peer.of("TIMESYNC")), peer)
    assert abs(link.snapshot().clock_offset_ns - fc_offset) < 50_000_000  # type: ignore[operator]
    assert fdr.of_kind("c2.timesync")
    # Telemetry stamped on the autopilot's boot clock lands on ours.
    boot_ms = (time.monotonic_ns() + fc_offset) // 1_000_000 - 30
    peer.send(peer.mav.attitude_encode(boot_ms, 0.0, 0.0, 0.0, 0, 0, 0))
    assert wait_for(lambda: link.snapshot().attitude is not None, peer)
    att = link.snapshot().attitude
    assert att is not None and 20_000_000 < att.receipt_ns - att.capture_ns < 80_000_000


def test_garbage_and_nan_do_not_break_the_link(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, fdr, _ = setup
    _telemetry(peer, 1000)
    assert wait_for(lambda: link.link_up, peer)
    good = bytearray(peer.mav.attitude_encode(5, 0.5, 0.5, 0.5, 0, 0, 0).pack(peer.mav))
    good[12] ^= 0xFF  # CRC mismatch
    for junk in (bytes(range(256)), bytes(good), b"\xfd\x09", b"\xfe" * 300, bytes(good[:7])):
        peer.raw(junk)
    _telemetry(peer, 2000, roll=math.nan)
    peer.send(peer.mav.attitude_encode(2100, 0.25, 0.0, 0.0, 0, 0, 0))
    assert wait_for(lambda: link.snapshot().attitude is not None and
                    link.snapshot().attitude.roll_rad == pytest.approx(0.25), peer)  # type: ignore[union-attr]
    stats = link.stats()
    assert stats.bad_messages >= 1 and stats.rejected_values >= 1
    assert link.thread_alive
    assert fdr.of_kind("c2.bad_data") and fdr.of_kind("c2.telemetry_rejected")


def test_link_drop_and_return(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, fdr, _ = setup
    _telemetry(peer, 1000)
    assert wait_for(lambda: link.link_up, peer)
    assert wait_for(lambda: not link.link_up, peer, timeout=5.0)  # silence > link_timeout_s
    # Positions still go out while the autopilot is silent (it may only be its transmit side).
    link.send_position(_position(time.monotonic_ns()))
    _telemetry(peer, 3000)
    assert wait_for(lambda: link.link_up and any("link back" in str(m.text) for m in peer.of("STATUSTEXT")), peer)
    states = [r.payload["up"] for r in fdr.of_kind("c2.link_state")]
    assert states == [True, False, True]
    assert link.stats().link_drops == 1 and link.stats().link_returns == 1


def test_degraded_alerts_and_heartbeat_state(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, fdr, _ = setup
    link.set_degraded("camera stalled " + "x" * 60)
    assert wait_for(lambda: any(h.system_status == 5 for h in peer.of("HEARTBEAT")), peer)
    texts = peer.of("STATUSTEXT")
    assert len(texts) >= 2 and {t.chunk_seq for t in texts} >= {0, 1}  # > 50 chars: chunked
    assert all(t.severity == 4 for t in texts)
    link.set_degraded(None)
    assert wait_for(lambda: any("OK" in str(t.text) for t in peer.of("STATUSTEXT")), peer)
    assert wait_for(lambda: peer.of("HEARTBEAT")[-1].system_status == 4, peer)
    assert any("OK" in r.payload["text"] for r in fdr.of_kind("c2.statustext"))


def test_external_position_estimate_is_a_command_int(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, _, _ = setup
    link.send_external_position_estimate(_position(time.monotonic_ns()))
    assert wait_for(lambda: bool(peer.of("COMMAND_INT")), peer)
    cmd = peer.of("COMMAND_INT")[-1]
    assert cmd.command == 43003 and cmd.x == 504500000 and cmd.y == 305200000 and cmd.param3 == pytest.approx(2.0)


def test_lost_output_drops_fix_type(setup: tuple[FcLink, Peer, FakeFdrSink, FakeFdrSink]) -> None:
    link, peer, _, _ = setup
    now = time.monotonic_ns()
    assert link.send_position(_position(now, OutputHealth.DEGRADED)).fix_type == 2
    assert link.send_position(_position(now, OutputHealth.LOST)).fix_type == 1
    assert wait_for(lambda: [m.fix_type for m in peer.of("GPS_INPUT")] == [2, 1], peer)


def test_stopped_link_refuses_and_bad_urls_are_typed() -> None:
    link = FcLink(FcLinkConfig(url="udpout:127.0.0.1:9"))
    link.start()
    link.stop()
    link.stop()
    with pytest.raises(FcLinkClosedError):
        link.send_position(_position(time.monotonic_ns()))
    for url in ("udpout:127.0.0.1:x", "tcp:1.2.3.4:5", "serial::57600", "serial:/dev/null:1234"):
        with pytest.raises(FcLinkConfigError):
            open_transport(url)
    with pytest.raises(FcLinkTransportError):
        open_transport("serial:/nonexistent/tty:57600")


def test_udpin_answers_whoever_speaks_first() -> None:
    link = FcLink(FcLinkConfig(url="udpin:127.0.0.1:0", heartbeat_rate_hz=5.0))
    link.start()
    try:
        assert link.transport is not None
        port = link.transport.local_address[1]  # type: ignore[attr-defined]
        peer = Peer()
        peer.addr = ("127.0.0.1", port)
        peer.send(peer.mav.heartbeat_encode(2, 3, 0, 0, 4))
        assert wait_for(lambda: bool(peer.of("HEARTBEAT")) and link.link_up, peer)
        peer.sock.close()
    finally:
        link.stop()
