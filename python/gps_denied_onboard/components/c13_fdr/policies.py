"""Recording policies: the record-kind gate and the per-flight capacity cap.

Neither can switch the recorder off: the recorder's own kinds (`fdr.*`,
`segment_rollover`) and `log` are always kept, and every record a policy drops
is counted in a marker record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gps_denied_onboard.components.c13_fdr.interface import RotationEvent
from gps_denied_onboard.components.c13_fdr.segments import segment_index
from gps_denied_onboard.logging import get_logger

KIND_POLICY_MARKER = "fdr.kind_policy_dropped"
ROLLOVER_KIND = "segment_rollover"


def _protected(kind: str) -> bool:
    return kind == "log" or kind == ROLLOVER_KIND or kind.startswith("fdr.")


@dataclass(frozen=True)
class KindRule:
    """What to do with one record kind: `keep` (optionally at most `max_per_s`) or drop."""

    keep: bool = True
    max_per_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_per_s is not None and not self.max_per_s > 0:
            raise ValueError(f"KindRule.max_per_s must be > 0, got {self.max_per_s!r}")


class RecordKindPolicy:
    """Per-kind keep/drop and rate limits, applied by the writer before framing.

    Rates use the records' own timestamps (token bucket, burst = max(1, rate)).
    Drops are reported as `fdr.kind_policy_dropped` markers (producer "fdr"),
    at most one per (producer, kind, reason) per `marker_interval_s`, and all
    outstanding ones when the flight closes.
    """

    def __init__(self, rules: Mapping[str, KindRule], *, marker_interval_s: float = 1.0) -> None:
        for kind, rule in rules.items():
            if _protected(kind) and not (rule.keep and rule.max_per_s is None):
                raise ValueError(f"record kind {kind!r} is protected: the FDR always keeps it")
        self.rules = dict(rules)
        self._marker_interval_ns = int(marker_interval_s * 1e9)
        self._tokens: dict[str, tuple[float, int]] = {}
        self._dropped: dict[tuple[str, str, str], int] = {}
        self._last_marker_ns: dict[tuple[str, str, str], int] = {}

    def admit(self, producer_id: str, kind: str, ts: int) -> bool:
        rule = self.rules.get(kind)
        if rule is None:
            return True
        if not rule.keep:
            self._count(producer_id, kind, "dropped_by_rule")
            return False
        if rule.max_per_s is None:
            return True
        burst = max(1.0, rule.max_per_s)
        tokens, last = self._tokens.get(kind, (burst, ts))
        tokens = min(burst, tokens + (ts - last) * 1e-9 * rule.max_per_s)
        if tokens >= 1.0:
            self._tokens[kind] = (tokens - 1.0, ts)
            return True
        self._tokens[kind] = (tokens, ts)
        self._count(producer_id, kind, "rate_limited")
        return False

    def _count(self, producer_id: str, kind: str, reason: str) -> None:
        key = (producer_id, kind, reason)
        self._dropped[key] = self._dropped.get(key, 0) + 1

    def take_markers(self, now_ns: int, force: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """Markers due now (every outstanding one when `force`)."""
        if not self._dropped:
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        for key in list(self._dropped):
            if not force and now_ns - self._last_marker_ns.get(key, -(2**62)) < self._marker_interval_ns:
                continue
            count = self._dropped.pop(key)
            self._last_marker_ns[key] = now_ns
            producer, kind, reason = key
            out.append((KIND_POLICY_MARKER, {"producer_id": producer, "record_kind": kind,
                                             "dropped_count": count, "reason": reason}))
        return out


class CapacityCapPolicy:
    """Keeps a flight within `cap_bytes` by deleting its oldest closed segments.

    Wire it as the writer's `on_rotation` hook. After each rotation, while the
    closed segments plus a full open segment would exceed the cap, the oldest
    closed segment is deleted; each deletion pass writes one `segment_rollover`
    record. Returns the number of segments deleted (counted in the footer).
    """

    def __init__(self, cap_bytes: int) -> None:
        if cap_bytes <= 0:
            raise ValueError(f"cap_bytes must be > 0, got {cap_bytes}")
        self.cap_bytes = cap_bytes
        self.rollover_count = 0
        self._log = get_logger("c13_fdr")

    def __call__(self, event: RotationEvent) -> int:
        closed = list(event.closed_segments)
        total = sum(size for _path, size in closed)
        deleted: list[str] = []
        deleted_bytes = 0
        through = -1
        while closed and total + event.segment_bytes > self.cap_bytes:
            path, size = closed.pop(0)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self._log.error("capacity cap could not delete a segment", kind="fdr_rollover_failed",
                                path=path, error=str(exc))
                break
            deleted.append(os.path.basename(path))
            through = max(through, segment_index(os.path.basename(path)) or 0)
            deleted_bytes += size
            total -= size
        if deleted:
            self.rollover_count += len(deleted)
            event.emit(ROLLOVER_KIND, {
                "deleted_segments": deleted, "deleted_bytes": deleted_bytes,
                "flight_bytes_on_disk": total + event.open_segment_bytes, "cap_bytes": self.cap_bytes,
                "rollover_count": self.rollover_count, "deleted_through_segment": through})
        return len(deleted)


__all__ = ["CapacityCapPolicy", "KindRule", "RecordKindPolicy"]
