"""What the emulated autopilot saw: per-message judgements and the closing report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PositionJudgement:
    """One position message as the emulated autopilot judged it. Times are ns on the
    emulator's monotonic clock; `flight_ns` is the dataset time it claimed to be valid at."""

    msg_type: str
    receipt_ns: int
    valid_ns: int
    flight_ns: int | None
    fix_type: int
    judged: bool  # a 3D fix with valid fields and timestamps, inside the truth span
    accepted: bool
    error_h_m: float | None
    claimed_h_m: float
    pos_ratio: float | None
    reason: str


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(math.ceil(q / 100.0 * len(ordered))) - 1))
    return ordered[k]


@dataclass(frozen=True)
class EmulatorReport:
    """Rates, validity, timing and the innovation-gate acceptance of everything received."""

    judgements: tuple[PositionJudgement, ...]
    counts: dict[str, int]
    statustexts: tuple[tuple[int, str], ...]
    bad_frames: int
    companion_heartbeats: int
    external_position_estimates: int
    sent_telemetry: int
    dropped_by_fault: int
    garbage_sent: int
    field_problems: tuple[str, ...] = field(default_factory=tuple)

    def of_type(self, msg_type: str = "GPS_INPUT") -> list[PositionJudgement]:
        return [j for j in self.judgements if j.msg_type == msg_type]

    def rate_hz(self, msg_type: str = "GPS_INPUT", start_ns: int | None = None, end_ns: int | None = None) -> float:
        times = [j.receipt_ns for j in self.of_type(msg_type)
                 if (start_ns is None or j.receipt_ns >= start_ns) and (end_ns is None or j.receipt_ns <= end_ns)]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / ((times[-1] - times[0]) / 1e9)

    def max_gap_s(self, msg_type: str = "GPS_INPUT", start_ns: int | None = None, end_ns: int | None = None) -> float:
        times = [j.receipt_ns for j in self.of_type(msg_type)
                 if (start_ns is None or j.receipt_ns >= start_ns) and (end_ns is None or j.receipt_ns <= end_ns)]
        if len(times) < 2:
            return math.inf
        return max(b - a for a, b in zip(times, times[1:], strict=False)) / 1e9

    def acceptance_ratio(self, msg_type: str = "GPS_INPUT") -> float:
        judged = [j for j in self.of_type(msg_type) if j.judged]
        return sum(j.accepted for j in judged) / len(judged) if judged else 0.0

    def delays_ms(self, msg_type: str = "GPS_INPUT") -> list[float]:
        return [(j.receipt_ns - j.valid_ns) / 1e6 for j in self.of_type(msg_type) if j.fix_type >= 3]

    def errors_m(self, msg_type: str = "GPS_INPUT") -> list[float]:
        return [j.error_h_m for j in self.of_type(msg_type) if j.error_h_m is not None]

    def fix_type_counts(self, msg_type: str = "GPS_INPUT") -> dict[int, int]:
        out: dict[int, int] = {}
        for j in self.of_type(msg_type):
            out[j.fix_type] = out.get(j.fix_type, 0) + 1
        return out

    def lines(self, msg_type: str = "GPS_INPUT") -> list[str]:
        """A human summary (the demo and the CLI print it)."""
        js = self.of_type(msg_type)
        judged = [j for j in js if j.judged]
        errs = self.errors_m(msg_type)
        delays = self.delays_ms(msg_type)
        rejected = [j for j in judged if not j.accepted]
        out = [
            f"{msg_type}: {len(js)} received, {self.rate_hz(msg_type):.2f} Hz, max gap {self.max_gap_s(msg_type):.3f} s",
            f"  fix types {dict(sorted(self.fix_type_counts(msg_type).items()))}; judged {len(judged)}, "
            f"accepted by the EKF gate {self.acceptance_ratio(msg_type) * 100:.2f} %",
            f"  error vs truth: p50 {_percentile(errs, 50):.2f} m, p95 {_percentile(errs, 95):.2f} m, "
            f"max {max(errs) if errs else math.nan:.2f} m",
            f"  stamp delay (valid -> received): p50 {_percentile(delays, 50):.1f} ms, "
            f"p99 {_percentile(delays, 99):.1f} ms",
            f"  link: {self.companion_heartbeats} companion heartbeats, {self.bad_frames} bad frames, "
            f"{len(self.statustexts)} STATUSTEXT, {self.dropped_by_fault} dropped by faults, "
            f"{self.garbage_sent} garbage sent",
        ]
        for j in rejected[:3]:
            out.append(f"  rejected: {j.reason}")
        for p in self.field_problems[:3]:
            out.append(f"  invalid field: {p}")
        return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    return _percentile(values, q)
