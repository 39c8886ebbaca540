"""Clocks: one monotonic clock (ns) for every stream and a wall clock for the record.

Components take a `Clock` by injection so tests can drive time with `FakeClock`.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "WallClock", "iso_from_unix_ns"]


def iso_from_unix_ns(unix_ns: int) -> str:
    """UTC ISO-8601 with microseconds and a 'Z' suffix."""
    stamp = _dt.datetime.fromtimestamp(unix_ns / 1e9, tz=_dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@runtime_checkable
class Clock(Protocol):
    """Time as the system sees it."""

    def monotonic_ns(self) -> int:
        """Monotonic nanoseconds: the one clock all measurements are stamped on."""
        ...

    def unix_ns(self) -> int:
        """Wall-clock nanoseconds since the Unix epoch (UTC)."""
        ...

    def wall_iso(self) -> str:
        """Wall-clock time as UTC ISO-8601."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of this clock's time."""
        ...


class WallClock:
    """The real clocks of the machine."""

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def unix_ns(self) -> int:
        return time.time_ns()

    def wall_iso(self) -> str:
        return iso_from_unix_ns(time.time_ns())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to (`advance`, `sleep`, `set`). Thread-safe."""

    def __init__(self, monotonic_ns: int = 1_000_000_000, unix_ns: int = 1_767_225_600_000_000_000) -> None:
        self._lock = threading.Lock()
        self._mono = monotonic_ns
        self._unix = unix_ns

    def monotonic_ns(self) -> int:
        with self._lock:
            return self._mono

    def unix_ns(self) -> int:
        with self._lock:
            return self._unix

    def wall_iso(self) -> str:
        return iso_from_unix_ns(self.unix_ns())

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> None:
        """Move both clocks forward by `seconds` plus `ns` nanoseconds."""
        delta = int(round(seconds * 1e9)) + ns
        if delta < 0:
            raise ValueError(f"FakeClock cannot go backwards (delta={delta} ns)")
        with self._lock:
            self._mono += delta
            self._unix += delta

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
