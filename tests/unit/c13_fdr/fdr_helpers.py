"""Shared helpers of the c13_fdr tests: writers on a temp root, a fault-injecting I/O seam."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

from gps_denied_onboard.components.c13_fdr import FileFdrWriter, FlightHeader, OsSegmentIO
from gps_denied_onboard.config import FdrConfig
from gps_denied_onboard.fdr_client import FdrClientRegistry


def header(flight_id: str = "flight-1", **fields: Any) -> FlightHeader:
    return FlightHeader(
        flight_id=flight_id,
        flight_started_at_iso="2026-01-01T00:00:00.000000Z",
        flight_started_at_monotonic_ns=123,
        config_snapshot=fields.pop("config_snapshot", '{"fdr":{}}'),
        signing_key_rotation_event=fields.pop("signing_key_rotation_event", {"key_id": "k1"}),
        manifest_content_hashes=fields.pop("manifest_content_hashes", {"manifest.json": "ab" * 32}),
    )


def make_writer(root: Path, registry: FdrClientRegistry | None = None, **kw: Any) -> FileFdrWriter:
    cfg_fields = {k: kw.pop(k) for k in list(kw) if k in FdrConfig.__dataclass_fields__}
    cfg = FdrConfig(flight_root=str(root), **cfg_fields)
    return FileFdrWriter(cfg, registry=registry if registry is not None else FdrClientRegistry(), **kw)


def wait_until(pred: Any, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.005)
    return bool(pred())


class FaultyIO(OsSegmentIO):
    """The real file system, until told to fail: `fail_writes` (errno) after `budget` bytes,
    `fail_open`, `fail_fsync`. Counts fsyncs per path and records fsync-before-close."""

    def __init__(self) -> None:
        self.fail_writes: int | None = None
        self.budget: int | None = None
        self.fail_open: int | None = None
        self.fail_fsync: int | None = None
        self.fsyncs = 0
        self.paths: dict[int, str] = {}
        self.synced_since_write: dict[int, bool] = {}
        self.closed_unsynced: list[str] = []
        self.write_calls = 0

    def open_append(self, path: str) -> int:
        if self.fail_open is not None:
            raise OSError(self.fail_open, os.strerror(self.fail_open), path)
        fd = super().open_append(path)
        self.paths[fd] = path
        self.synced_since_write[fd] = True
        return fd

    def write(self, fd: int, data: bytes) -> int:
        self.write_calls += 1
        if self.fail_writes is not None:
            if self.budget is None or self.budget <= 0:
                raise OSError(self.fail_writes, os.strerror(self.fail_writes))
            data = bytes(data[: self.budget])
            self.budget -= len(data)
        n = super().write(fd, data)
        self.synced_since_write[fd] = False
        return n

    def fsync(self, fd: int) -> None:
        if self.fail_fsync is not None:
            raise OSError(self.fail_fsync, os.strerror(self.fail_fsync))
        self.fsyncs += 1
        self.synced_since_write[fd] = True
        super().fsync(fd)

    def close(self, fd: int) -> None:
        if not self.synced_since_write.get(fd, True):
            self.closed_unsynced.append(self.paths.get(fd, "?"))
        super().close(fd)


ENOSPC = errno.ENOSPC
EIO = errno.EIO
EROFS = errno.EROFS
