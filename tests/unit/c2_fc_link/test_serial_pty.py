"""The serial transport over a pseudo-terminal: stream parsing resynchronises after
garbage that fakes a long frame header (no datagram boundaries to help)."""

from __future__ import annotations

import os
import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav2

from gps_denied_onboard.components.c2_fc_link import FcLink
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig


def test_serial_link_resyncs_after_garbage() -> None:
    master, slave = os.openpty()
    try:
        link = FcLink(FcLinkConfig(url=f"serial:{os.ttyname(slave)}:115200", link_timeout_s=1.0))
        link.start()
        try:
            mav = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
            good = mav.attitude_encode(10, 0.3, 0.0, 0.0, 0, 0, 0).pack(mav)
            corrupt = bytearray(good)
            corrupt[1] = 250  # a length byte that swallows what follows
            filler = b"".join(mav.attitude_encode(20 + i, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1).pack(mav) for i in range(10))
            assert len(filler) > 250
            # The corrupt frame's claimed length spans the heartbeat, `good` and most fillers.
            stream = b"\xfd\x05garbage" + bytes(corrupt) + mav.heartbeat_encode(2, 3, 0, 0, 4).pack(mav) + good + filler
            os.write(master, stream)
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and link.stats().messages_in < 12:
                time.sleep(0.02)
            assert link.stats().messages_in == 12  # nothing after the bad header was lost
            att = link.snapshot().attitude
            assert att is not None and att.roll_rad == pytest.approx(0.7)
            assert link.stats().bad_messages >= 2
            assert os.read(master, 4096)  # our HEARTBEAT went out over the tty
        finally:
            link.stop()
    finally:
        os.close(master)
        os.close(slave)


def test_serial_device_vanishing_is_survived() -> None:
    master, slave = os.openpty()
    link = FcLink(FcLinkConfig(url=f"serial:{os.ttyname(slave)}:115200", link_timeout_s=0.5))
    link.start()
    try:
        mav = mav2.MAVLink(None, srcSystem=1, srcComponent=1)
        os.write(master, mav.heartbeat_encode(2, 3, 0, 0, 4).pack(mav))
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not link.link_up:
            time.sleep(0.02)
        assert link.link_up
        os.close(master)  # the USB adapter is pulled: reads fail with EIO
        os.close(slave)
        time.sleep(1.5)
        assert link.thread_alive and not link.link_up
        assert link.stats().link_drops == 1
    finally:
        link.stop()
