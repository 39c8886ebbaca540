"""The flight-root lock: `flock(LOCK_EX|LOCK_NB)` on `flight_root/.fdr.lock` for a whole flight.

The kernel drops it when the holder dies, so a crashed writer never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os

from gps_denied_onboard.components.c13_fdr.errors import FdrConcurrentWriterError

LOCK_NAME = ".fdr.lock"


class FlightRootLock:
    """Held by one writer; a second one gets `FdrConcurrentWriterError` naming the holder."""

    def __init__(self, flight_root: str) -> None:
        self.path = os.path.join(flight_root, LOCK_NAME)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 128, 0).decode("ascii", "replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            raise FdrConcurrentWriterError(self.path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
