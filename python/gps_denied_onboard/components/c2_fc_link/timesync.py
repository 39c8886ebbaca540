"""Clock offset between the autopilot's boot clock and this process's monotonic clock.

TIMESYNC (both ArduPilot and PX4 answer in ns): we send (tc1=0, ts1=our time);
the reply carries the autopilot's time in tc1 and our ts1 back. The offset sample
is tc1 - midpoint(ts1, receipt), good to half the round trip; the estimate is the
sample with the smallest round trip over a sliding window (a classic NTP-style
minimum filter: queueing only ever adds delay). SYSTEM_TIME gives a one-way
sample (biased by the link latency) used only until TIMESYNC answers. A jump of
more than `reset_threshold_ns` (autopilot reboot) restarts the estimate.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OffsetEstimate:
    offset_ns: int  # autopilot time - our time
    rtt_ns: int | None  # None for a one-way (SYSTEM_TIME) estimate
    samples: int


class ClockOffsetEstimator:
    """Thread-safe minimum-RTT offset filter."""

    def __init__(self, window: int = 16, max_rtt_ns: int = 1_000_000_000, reset_threshold_ns: int = 1_000_000_000) -> None:
        self._window: deque[tuple[int, int]] = deque(maxlen=window)
        self._max_rtt_ns = max_rtt_ns
        self._reset_ns = reset_threshold_ns
        self._one_way: int | None = None
        self._lock = threading.Lock()
        self.resets = 0

    def add_timesync(self, ts1_ns: int, tc1_ns: int, receipt_ns: int) -> bool:
        """Add a TIMESYNC round trip; False when it is rejected (absurd round trip)."""
        rtt = receipt_ns - ts1_ns
        if rtt < 0 or rtt > self._max_rtt_ns or tc1_ns <= 0:
            return False
        sample = tc1_ns - (ts1_ns + receipt_ns) // 2
        with self._lock:
            current = self._best_locked()
            if current is not None and abs(sample - current.offset_ns) > self._reset_ns:
                self._window.clear()
                self.resets += 1
            self._window.append((rtt, sample))
        return True

    def add_one_way(self, fc_time_ns: int, receipt_ns: int) -> None:
        """A one-way sample (SYSTEM_TIME's time_boot_ms): kept only as a fallback."""
        with self._lock:
            self._one_way = fc_time_ns - receipt_ns

    def estimate(self) -> OffsetEstimate | None:
        with self._lock:
            return self._best_locked()

    def _best_locked(self) -> OffsetEstimate | None:
        if self._window:
            rtt, offset = min(self._window)
            return OffsetEstimate(offset, rtt, len(self._window))
        if self._one_way is not None:
            return OffsetEstimate(self._one_way, None, 0)
        return None

    def to_local_ns(self, fc_time_ns: int, receipt_ns: int, max_age_ns: int = 2_000_000_000) -> int:
        """Autopilot time -> our monotonic time, falling back to the receipt time when
        no estimate exists or the converted time is implausible (in the future, or
        older than `max_age_ns`)."""
        est = self.estimate()
        if est is None:
            return receipt_ns
        local = fc_time_ns - est.offset_ns
        slack = (est.rtt_ns // 2 if est.rtt_ns is not None else 0) + 5_000_000
        if local > receipt_ns + slack or local < receipt_ns - max_age_ns:
            return receipt_ns
        return min(local, receipt_ns)
