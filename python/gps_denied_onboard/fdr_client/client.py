"""`FdrClient`: a lock-free single-producer/single-consumer ring of FDR records.

Design (why it is lock-free and exact under CPython):
- `_slots` is a list pre-allocated to a power-of-two capacity. The producer owns
  `_tail` (it alone writes it) and the slots; the consumer owns `_head`. Each
  slot holds `(seq, ts, kind, payload)`, where `seq` is the producer's enqueue
  counter, so the consumer can tell a fresh slot from an overwritten one.
- `enqueue` writes the slot, then publishes `_tail`: a consumer that sees the
  new tail sees the slot. When the ring is full the write overwrites the oldest
  unconsumed record (drop-oldest, retry in one step) and `enqueue` returns
  OVERRUN; nothing ever waits.
- The consumer detects loss exactly from sequence numbers (everything below
  `tail - capacity` is gone, and a slot whose seq is not the expected one was
  overwritten while being read) and emits one `fdr.overrun` marker per gap,
  before the first surviving record. Markers are synthesised on the consumer
  side, so they can never themselves be overwritten: consecutive losses found
  in one pass are folded into one marker and loss is never under-reported.
- Serialisation happens on the consumer (writer) thread; `enqueue` stores
  references only, so the payload must not be mutated after `enqueue` (copying
  every dict would cost a fifth of the enqueue budget and double its GC load).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gps_denied_onboard.fdr_client.errors import FdrSpscViolationError
from gps_denied_onboard.fdr_client.overrun import DefaultOverrunPolicy, OverrunHook
from gps_denied_onboard.fdr_client.record import (
    FDR_PRODUCER_ID,
    FDR_RECORD_SCHEMA_VERSION,
    EnqueueResult,
    FdrRecord,
)

OVERRUN_KIND = "fdr.overrun"
MARKER_SEQ = -1  # seq of records the recorder synthesises (their producer is FDR_PRODUCER_ID)

RawRecord = tuple[int, int, str, Any]
"""(seq, ts, kind, payload) as held in a slot; seq == MARKER_SEQ marks an overrun marker."""

_OK = EnqueueResult.OK
_OVERRUN = EnqueueResult.OVERRUN
_EMPTY: RawRecord = (-(2**62), 0, "", None)


def round_up_pow2(n: int) -> int:
    """The smallest power of two >= n (n >= 1)."""
    if n < 1:
        raise ValueError(f"capacity must be >= 1, got {n}")
    return 1 << (n - 1).bit_length()


@dataclass(frozen=True)
class ClientStats:
    """Counters of one client. `dropped` is the consumer's exact count of lost records."""

    producer_id: str
    capacity: int
    enqueued: int
    consumed: int
    overruns: int
    dropped: int
    pending: int


class FdrClient:
    """One producer's FDR queue. Use `make_fdr_client(producer_id)` to get one.

    Producer side: `enqueue` (never blocks, never raises on a full ring), `flush`.
    Consumer side (the FDR writer, or a test double): `pop_one`, `drain`.
    With `spsc_guard=True` each side remembers the first thread that used it and
    raises `FdrSpscViolationError` when another thread does.
    """

    def __init__(
        self,
        producer_id: str,
        capacity: int = 4096,
        *,
        spsc_guard: bool = False,
        on_overrun: OverrunHook | None = None,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not isinstance(producer_id, str) or not producer_id:
            raise ValueError(f"producer_id must be a non-empty string, got {producer_id!r}")
        self.producer_id = producer_id
        self.capacity = round_up_pow2(int(capacity))
        self._mask = self.capacity - 1
        self._slots: list[RawRecord] = [_EMPTY] * self.capacity
        self._tail = 0  # producer-owned
        self._released = 0  # producer-owned: slots of seqs below this no longer hold consumed records
        self._head = 0  # consumer-owned
        self._overruns = 0  # producer-owned
        self._dropped = 0  # consumer-owned, exact
        self._stash: RawRecord | None = None  # consumer-owned: record held back behind a marker
        self._now = monotonic_ns
        self._on_overrun: OverrunHook = DefaultOverrunPolicy() if on_overrun is None else self._check_hook(on_overrun)
        self.spsc_guard = spsc_guard
        if spsc_guard:
            self._producer_thread: int | None = None
            self._consumer_thread: int | None = None
            self.enqueue = self._enqueue_guarded  # type: ignore[method-assign]

    # ---- hook ---------------------------------------------------------------------------
    @staticmethod
    def _check_hook(hook: Any) -> OverrunHook:
        if not callable(hook):
            raise TypeError(f"on_overrun must be callable(producer_id, overrun_count), got {hook!r}")
        return hook  # type: ignore[no-any-return]

    @property
    def on_overrun(self) -> OverrunHook:
        """Called as `hook(producer_id, overrun_count)` on the producer thread after each overrun."""
        return self._on_overrun

    @on_overrun.setter
    def on_overrun(self, hook: OverrunHook) -> None:
        self._on_overrun = self._check_hook(hook)

    # ---- producer side ------------------------------------------------------------------
    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> EnqueueResult:
        """Queue one record stamped with monotonic ns. Never blocks.

        Ownership of the payload passes to the recorder: it is serialised later, on
        the writer thread, so do not mutate it after enqueueing (build a fresh dict
        per record; a non-dict mapping is copied into one). Returns OVERRUN when the
        ring was full and the oldest record was overwritten.
        """
        tail = self._tail
        if type(payload) is not dict:  # the common case (a dict literal) is stored as is
            payload = dict(payload)
        self._slots[tail & self._mask] = (tail, self._now(), kind, payload)
        self._tail = tail + 1
        head = self._head
        if self._released < head:
            self._release_consumed(head, tail + 1)
        if tail - head < self.capacity:
            return _OK
        self._overruns += 1
        try:
            self._on_overrun(self.producer_id, self._overruns)
        except Exception:  # noqa: BLE001 - a broken hook must never take the producer down
            pass
        return _OVERRUN

    def _release_consumed(self, head: int, tail: int) -> None:
        """Empty the slots of records the consumer has taken (seq < `head`).

        Without this a drained record stays referenced by its slot until the producer
        laps the ring, so each client held up to `capacity` already-written payloads
        (4096 by default, ~1 KiB each): FDR memory grew with the flight until every
        ring had lapped (tens of minutes for the slow producers). Only the producer
        writes slots, and the consumer reads only seqs >= its head, so this cannot
        race it; slots of seqs below `tail - capacity` already hold newer records
        and are left alone. Amortised O(1) per record: each slot is emptied once, by
        slice assignment (one C call per contiguous run).
        """
        start = max(self._released, tail - self.capacity)
        n = head - start
        if n > 0:
            slots, cap = self._slots, self.capacity
            a = start & self._mask
            first = min(n, cap - a)
            slots[a:a + first] = [_EMPTY] * first
            if n > first:
                slots[0:n - first] = [_EMPTY] * (n - first)
        self._released = head

    def _enqueue_guarded(self, kind: str, payload: Mapping[str, Any]) -> EnqueueResult:
        self._guard("producer")
        return type(self).enqueue(self, kind, payload)

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Wait (up to `timeout_s`) until the consumer has taken everything enqueued so far.

        The only waiting call of the client; for shutdown paths, never for the hot path.
        """
        target = self._tail
        deadline = time.monotonic() + timeout_s
        while self._head < target:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    # ---- consumer side ------------------------------------------------------------------
    def _guard(self, side: str) -> None:
        me = threading.get_ident()
        attr = "_producer_thread" if side == "producer" else "_consumer_thread"
        owner = getattr(self, attr)
        if owner is None:
            setattr(self, attr, me)
        elif owner != me:
            raise FdrSpscViolationError(self.producer_id, side, owner, me)

    def pop_raw(self) -> RawRecord | None:
        """The next raw record `(seq, ts, kind, payload)`, an overrun marker, or None.

        Markers have seq == MARKER_SEQ and kind "fdr.overrun"; their payload names
        this client's producer and the exact number of records lost.
        """
        if self.spsc_guard:
            self._guard("consumer")
        stash = self._stash
        if stash is not None:
            self._stash = None
            return stash
        head = self._head
        mask = self._mask
        cap = self.capacity
        slots = self._slots
        first_lost = -1
        while True:
            tail = self._tail
            if head >= tail:
                item = None
                break
            lowest = tail - cap
            if head < lowest:
                if first_lost < 0:
                    first_lost = head
                head = lowest
            item = slots[head & mask]
            if item[0] == head:
                head += 1
                break
            # Overwritten between reading the tail and the slot: look again.
        self._head = head
        if first_lost < 0:
            return item
        last_lost = (item[0] - 1) if item is not None else head - 1
        count = last_lost - first_lost + 1
        self._dropped += count
        self._stash = item
        return (
            MARKER_SEQ,
            self._now(),
            OVERRUN_KIND,
            {"producer_id": self.producer_id, "dropped_count": count, "first_seq": first_lost, "last_seq": last_lost},
        )

    def drain_raw(self, max_records: int, out: list[RawRecord]) -> int:
        """Append up to `max_records` raw records (markers included) to `out`; returns how many.

        Fast path: one slice copy of the contiguous run, validated afterwards
        against the producer's tail; falls back to `pop_raw` when a lap is possible.
        """
        if max_records <= 0:
            return 0
        if self.spsc_guard:
            self._guard("consumer")
        n_before = len(out)
        if self._stash is None:
            head = self._head
            tail = self._tail
            if head < tail <= head + self.capacity:
                n = min(tail - head, max_records)
                start = head & self._mask
                end = start + n
                if end <= self.capacity:
                    chunk = self._slots[start:end]
                else:
                    chunk = self._slots[start:] + self._slots[: end - self.capacity]
                if head >= self._tail - self.capacity:  # nothing we copied can have been overwritten
                    self._head = head + n
                    out.extend(chunk)
                    return n
        while len(out) - n_before < max_records:
            item = self.pop_raw()
            if item is None:
                break
            out.append(item)
        return len(out) - n_before

    def to_record(self, raw: RawRecord) -> FdrRecord:
        """The public `FdrRecord` of a raw record popped from this client."""
        seq, ts, kind, payload = raw
        producer = FDR_PRODUCER_ID if seq == MARKER_SEQ else self.producer_id
        return FdrRecord(FDR_RECORD_SCHEMA_VERSION, ts, producer, kind, payload, seq)

    def pop_one(self) -> FdrRecord | None:
        """The oldest record (or an overrun marker standing for lost ones), or None if empty."""
        raw = self.pop_raw()
        return None if raw is None else self.to_record(raw)

    def drain(self, max_records: int | None = None) -> list[FdrRecord]:
        """Up to `max_records` records (all available when None), oldest first."""
        raws: list[RawRecord] = []
        if max_records is None:
            while self.drain_raw(self.capacity, raws):
                pass
        else:
            self.drain_raw(max_records, raws)
        return [self.to_record(r) for r in raws]

    # ---- introspection ------------------------------------------------------------------
    def __len__(self) -> int:
        """Records waiting (approximate while the producer runs)."""
        return max(0, min(self._tail - self._head, self.capacity)) + (1 if self._stash is not None else 0)

    def stats(self) -> ClientStats:
        return ClientStats(
            producer_id=self.producer_id,
            capacity=self.capacity,
            enqueued=self._tail,
            consumed=self._head,
            overruns=self._overruns,
            dropped=self._dropped,
            pending=len(self),
        )

    def __repr__(self) -> str:
        return f"FdrClient({self.producer_id!r}, capacity={self.capacity})"
