"""The default overrun policy: one rate-limited ERROR per producer.

The ring itself does drop-oldest + retry (the new record overwrites the oldest
unconsumed one) and its consumer synthesises an exact `fdr.overrun` marker for
every gap, so the policy only has to make the loss visible in the log without
flooding it: at most one ERROR per second per producer, each carrying the
number of overruns since the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gps_denied_onboard.logging import get_logger

OverrunHook = Callable[[str, int], None]
"""`hook(producer_id, overrun_count)`: called on the producer thread after an overrun."""


class DefaultOverrunPolicy:
    """Rate-limited ERROR diagnostic (<= 1 per `interval_s` per producer).

    Kept deliberately cheap (one clock read and a compare) because it runs
    inside `enqueue` on every overrun.
    """

    def __init__(self, interval_s: float = 1.0, monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self._interval_ns = int(interval_s * 1e9)
        self._now = monotonic_ns
        self._next_ns = 0
        self._reported = 0
        self._log = get_logger("fdr_client")
        self.errors_logged = 0

    def __call__(self, producer_id: str, overrun_count: int) -> None:
        now = self._now()
        if now < self._next_ns:
            return
        self._next_ns = now + self._interval_ns
        since = overrun_count - self._reported
        self._reported = overrun_count
        self.errors_logged += 1
        self._log.error(
            "FDR ring overrun: oldest records dropped",
            kind="fdr_overrun",
            producer_id=producer_id,
            overruns_since_last_report=since,
            overruns_total=overrun_count,
        )
