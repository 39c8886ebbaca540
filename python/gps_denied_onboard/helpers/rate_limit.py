"""A token-free rate limiter for diagnostics: at most one event per interval,
counting what it suppressed so the next allowed event can report it."""

from __future__ import annotations

import threading

from gps_denied_onboard.clock import Clock, WallClock


class RateLimiter:
    """`allow()` is True at most once per `interval_s`; suppressed calls are counted.

    `take_suppressed()` returns and resets that count (report it with the next
    message so nothing is silently hidden). Thread-safe.
    """

    def __init__(self, interval_s: float, clock: Clock | None = None) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self._interval_ns = int(interval_s * 1e9)
        self._clock = clock or WallClock()
        self._next_ns: int | None = None
        self._suppressed = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = self._clock.monotonic_ns()
        with self._lock:
            if self._next_ns is None or now >= self._next_ns:
                self._next_ns = now + self._interval_ns
                return True
            self._suppressed += 1
            return False

    def take_suppressed(self) -> int:
        with self._lock:
            count, self._suppressed = self._suppressed, 0
            return count
