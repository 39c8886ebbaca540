"""Storage failure: degraded mode (one ERROR, one GCS alert, producers still drained)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fdr_helpers import FaultyIO, header, make_writer, wait_until

from gps_denied_onboard.components.c13_fdr import FileFdrWriter, read_flight_records, scan_flight
from gps_denied_onboard.fdr_client import FdrClient, FdrClientRegistry, make_fdr_client


def _degraded_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "gdn_kind", None) == "fdr_degraded"]


def _start(tmp_path: Path, io: FaultyIO, alerts: list[str]) -> tuple[FileFdrWriter, FdrClient]:
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, gcs_alert=alerts.append)
    c = make_fdr_client("p", registry=reg, capacity=64, on_overrun=lambda p, n: None)
    w.start()
    w.open_flight(header())
    return w, c


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_write_failure_degrades_once_and_keeps_draining(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                        err: int) -> None:
    caplog.set_level(logging.ERROR)
    io = FaultyIO()
    alerts: list[str] = []
    w, c = _start(tmp_path, io, alerts)
    for i in range(20):
        c.enqueue("x", {"i": i})
    # On disk, not just out of the ring: a drained batch may still be on its way to write()
    # (seen under aarch64 emulation, where the failure then caught these 20 too).
    segment = tmp_path / "flight-1" / "segment-0000.fdr"
    assert wait_until(lambda: segment.exists() and len(read_flight_records(tmp_path / "flight-1")) == 20)
    io.fail_writes = err
    for burst in range(10):  # 10 x 50 records into a 64-slot ring: no overrun if drained
        for i in range(50):
            c.enqueue("x", {"i": 1000 + burst * 50 + i})
        assert wait_until(lambda: len(c) == 0), "producers must still be drained while degraded"
    assert w.degraded
    assert len(_degraded_errors(caplog)) == 1
    assert len(alerts) == 1 and "FDR DEGRADED" in alerts[0] and errno.errorcode[err] in alerts[0]
    assert c.stats().dropped == 0
    footer = w.close_flight()
    w.stop()
    assert footer.clean_shutdown is False
    assert w.records_dropped_degraded == 500
    assert [r.payload["i"] for r in read_flight_records(tmp_path / "flight-1")] == list(range(20))


def test_failure_logs_are_rate_limited_and_recovery_is_recorded(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    io = FaultyIO()
    alerts: list[str] = []
    w, c = _start(tmp_path, io, alerts)
    io.fail_writes = errno.ENOSPC
    io.fail_open = errno.ENOSPC
    for i in range(30):
        c.enqueue("x", {"i": i})
    assert wait_until(lambda: w.degraded)
    assert wait_until(lambda: len(c) == 0)
    still = [r for r in caplog.records if getattr(r, "gdn_kind", None) == "fdr_write_failed"]
    assert len(still) <= 2  # retries every second, failures logged at most once a second
    io.fail_writes = None
    io.fail_open = None
    assert wait_until(lambda: not w.degraded, 5.0), "writer did not resume after space came back"
    c.enqueue("x", {"i": 999})
    footer = w.close_flight()
    w.stop()
    recs = read_flight_records(tmp_path / "flight-1")
    [resumed] = [r for r in recs if r.kind == "fdr.degraded_recovered"]
    assert resumed.payload["dropped_records"] == 30 and resumed.payload["errno"] == errno.ENOSPC
    assert recs[-1].payload == {"i": 999}
    assert len(alerts) == 1 and footer.clean_shutdown is False


def test_failure_to_open_the_next_segment_degrades_then_recovers(tmp_path: Path) -> None:
    io = FaultyIO()
    alerts: list[str] = []
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, gcs_alert=alerts.append, segment_bytes=4096,
                    flight_cap_bytes=1 << 30)
    c = make_fdr_client("p", registry=reg, capacity=1024, on_overrun=lambda p, n: None)
    w.start()
    w.open_flight(header())
    io.fail_open = errno.EMFILE
    for i in range(200):  # ~60 bytes each: crosses the 4 KiB segment size
        c.enqueue("x", {"i": i, "pad": "o" * 30})
    assert wait_until(lambda: w.degraded)
    io.fail_open = None
    assert wait_until(lambda: not w.degraded, 5.0)
    c.enqueue("x", {"i": 200})
    w.close_flight()
    w.stop()
    assert len(alerts) == 1
    recs = read_flight_records(tmp_path / "flight-1")
    assert recs[-1].payload["i"] == 200 and any(r.kind == "fdr.degraded_recovered" for r in recs)
    report = scan_flight(tmp_path / "flight-1")
    assert not report.unexplained_missing


def test_close_while_storage_is_gone_returns_an_unclean_footer(tmp_path: Path) -> None:
    io = FaultyIO()
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, segment_bytes=4096, flight_cap_bytes=1 << 30)
    c = make_fdr_client("p", registry=reg, capacity=1024, on_overrun=lambda p, n: None)
    w.start()
    w.open_flight(header())
    io.fail_open = errno.EIO
    io.fail_writes = errno.EIO
    for i in range(200):
        c.enqueue("x", {"i": i, "pad": "o" * 30})
    assert wait_until(lambda: w.degraded)
    footer = w.close_flight()  # must not raise
    assert footer.clean_shutdown is False and footer.flight_id == "flight-1"
    assert w.close_flight() is footer
    w.stop()
    other = make_writer(tmp_path)  # the lock was released
    other.start()
    other.open_flight(header("next"))
    other.close_flight()
    other.stop()


def test_fsync_failure_also_degrades(tmp_path: Path) -> None:
    io = FaultyIO()
    alerts: list[str] = []
    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, gcs_alert=alerts.append, fsync_interval_s=0.01)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    io.fail_fsync = errno.EIO
    c.enqueue("x", {"i": 0})
    assert wait_until(lambda: w.degraded)
    assert len(alerts) == 1
    w.stop()


def test_a_raising_gcs_alert_does_not_stop_the_writer(tmp_path: Path) -> None:
    io = FaultyIO()

    def bad_alert(msg: str) -> None:
        raise RuntimeError("link down")

    reg = FdrClientRegistry()
    w = make_writer(tmp_path, reg, segment_io=io, gcs_alert=bad_alert)
    c = make_fdr_client("p", registry=reg)
    w.start()
    w.open_flight(header())
    io.fail_writes = errno.ENOSPC
    c.enqueue("x", {"i": 0})
    assert wait_until(lambda: w.degraded)
    c.enqueue("x", {"i": 1})
    assert wait_until(lambda: len(c) == 0)
    w.stop()


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs, when this machine lets the test mount one."""
    mnt = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tiny file system needs root and mount(8)")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip() or res.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


def test_real_full_file_system_degrades(tiny_fs: Path) -> None:
    reg = FdrClientRegistry()
    alerts: list[str] = []
    w = make_writer(tiny_fs, reg, gcs_alert=alerts.append, segment_bytes=64 * 1024, flight_cap_bytes=1 << 30)
    c = make_fdr_client("p", registry=reg, capacity=256, on_overrun=lambda p, n: None)
    w.start()
    w.open_flight(header())
    for i in range(4000):
        c.enqueue("x", {"i": i, "pad": "f" * 200})
        if i % 100 == 0:
            wait_until(lambda: len(c) == 0, 1.0)
    assert wait_until(lambda: w.degraded, 5.0)
    assert len(alerts) == 1 and "ENOSPC" in alerts[0]
    w.stop()
    report = scan_flight(tiny_fs / "flight-1")
    assert report.records_read > 0  # what fitted is readable
    assert all(d.torn_tail for d in report.damages)


def test_real_read_only_file_system_refuses_open(tiny_fs: Path) -> None:
    res = subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {res.stderr.strip()}")
    w = make_writer(tiny_fs)
    w.start()
    with pytest.raises(OSError) as err:
        w.open_flight(header())
    assert err.value.errno == errno.EROFS
    w.stop()
