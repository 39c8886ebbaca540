"""Time-indexed telemetry samples (attitude, altitude) for the localization pipeline:
interpolated at a frame's capture time, refused when stale."""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class TelemetryBuffer:
    """Time-indexed samples of one stream with staleness-aware lookup."""

    def __init__(self, maxlen: int = 512) -> None:
        self._buf: deque[tuple[int, tuple[float, ...]]] = deque(maxlen=maxlen)

    def add(self, t_ns: int, values: tuple[float, ...]) -> None:
        if self._buf and t_ns <= self._buf[-1][0]:
            return  # out of order / duplicate: telemetry is monotonic by contract; drop silently
        self._buf.append((t_ns, values))

    def at(self, t_ns: int, max_age_s: float, angle_idx: tuple[int, ...] = ()) -> tuple[float, ...] | None:
        """Linear interpolation at t (held at the ends within `max_age_s`); None if stale or absent."""
        if not self._buf:
            return None
        times = [b[0] for b in self._buf]
        i = int(np.searchsorted(times, t_ns))
        if i == 0 or i == len(times):
            t0, v0 = self._buf[0] if i == 0 else self._buf[-1]
            return v0 if abs(t_ns - t0) * 1e-9 <= max_age_s else None
        (ta, va), (tb, vb) = self._buf[i - 1], self._buf[i]
        if min(t_ns - ta, tb - t_ns) * 1e-9 > max_age_s:
            return None
        w = (t_ns - ta) / (tb - ta)
        out = []
        for k, (a, b) in enumerate(zip(va, vb, strict=True)):
            if k in angle_idx:
                d = math.remainder(b - a, 2 * math.pi)
                out.append(math.remainder(a + w * d, 2 * math.pi))
            else:
                out.append(a + w * (b - a))
        return tuple(out)

    def window(self, t0_ns: int, t1_ns: int) -> list[tuple[int, tuple[float, ...]]]:
        return [b for b in self._buf if t0_ns <= b[0] <= t1_ns]

    def latest(self) -> tuple[int, tuple[float, ...]] | None:
        return self._buf[-1] if self._buf else None
