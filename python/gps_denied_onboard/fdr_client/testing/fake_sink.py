"""`FakeFdrSink`: an in-memory FDR client for component tests.

Same producer surface as `FdrClient` (it *is* one: a real ring with the real
overrun behaviour and policy), plus a built-in consumer: `records` is what a
writer would have recorded so far (survivors + exact `fdr.overrun` markers),
`all_records_ever` is every record ever enqueued, dropped ones included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from gps_denied_onboard.fdr_client.client import FdrClient
from gps_denied_onboard.fdr_client.overrun import OverrunHook
from gps_denied_onboard.fdr_client.record import FDR_RECORD_SCHEMA_VERSION, EnqueueResult, FdrRecord


class FakeFdrSink(FdrClient):
    """An `FdrClient` whose records tests can read back."""

    def __init__(
        self,
        producer_id: str = "test_producer",
        capacity: int = 4096,
        *,
        spsc_guard: bool = False,
        on_overrun: OverrunHook | None = None,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        super().__init__(producer_id, capacity, spsc_guard=spsc_guard, on_overrun=on_overrun, monotonic_ns=monotonic_ns)
        self._recorded: list[FdrRecord] = []
        self._ever: list[FdrRecord] = []

    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> EnqueueResult:
        result = super().enqueue(kind, payload)
        seq, ts, k, p = self._slots[(self._tail - 1) & self._mask]
        self._ever.append(FdrRecord(FDR_RECORD_SCHEMA_VERSION, ts, self.producer_id, k, p, seq))
        return result

    @property
    def records(self) -> list[FdrRecord]:
        """Everything a writer would have recorded so far (drains the ring into the list)."""
        self._recorded.extend(self.drain())
        return list(self._recorded)

    @property
    def all_records_ever(self) -> list[FdrRecord]:
        """Every record ever enqueued, in order, including those an overrun dropped."""
        return list(self._ever)

    def of_kind(self, kind: str) -> list[FdrRecord]:
        """`records` of one kind."""
        return [r for r in self.records if r.kind == kind]

    def clear(self) -> None:
        """Forget everything recorded so far (the ring is drained first)."""
        self.drain()
        self._recorded.clear()
        self._ever.clear()
