"""FdrClient: the SPSC ring, exact overrun accounting, the guard, the hook."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard.fdr_client import (
    FDR_PRODUCER_ID,
    FDR_RECORD_SCHEMA_VERSION,
    OVERRUN_KIND,
    EnqueueResult,
    FdrClient,
    FdrRecord,
    FdrSpscViolationError,
)


def _seqs(records: list[FdrRecord]) -> list[int]:
    return [r.payload["i"] for r in records if r.kind == "k"]


def test_capacity_is_rounded_up_to_a_power_of_two() -> None:
    assert FdrClient("p", 1000).capacity == 1024
    assert FdrClient("p", 1024).capacity == 1024
    assert FdrClient("p", 1).capacity == 1
    with pytest.raises(ValueError):
        FdrClient("p", 0)


def test_empty_producer_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="producer_id"):
        FdrClient("", 8)


def test_enqueue_stamps_monotonic_ts_and_sequence() -> None:
    ticks = iter(range(100, 200))
    c = FdrClient("c7", 8, monotonic_ns=lambda: next(ticks))
    assert c.enqueue("k", {"i": 0}) is EnqueueResult.OK
    assert c.enqueue("k", {"i": 1}) is EnqueueResult.OK
    a, b = c.pop_one(), c.pop_one()
    assert a == FdrRecord(FDR_RECORD_SCHEMA_VERSION, 100, "c7", "k", {"i": 0}, 0)
    assert b is not None and b.ts == 101 and b.seq == 1
    assert c.pop_one() is None


def test_payload_ownership_passes_to_the_recorder() -> None:
    """A dict is stored as is (no per-record copy); any other mapping becomes a dict."""
    from types import MappingProxyType

    c = FdrClient("p", 8)
    payload = {"i": 1}
    c.enqueue("k", payload)
    c.enqueue("k", MappingProxyType({"i": 2}))
    first, second = c.pop_one(), c.pop_one()
    assert first is not None and first.payload is payload
    assert second is not None and type(second.payload) is dict and second.payload == {"i": 2}


def test_full_ring_drops_oldest_and_reports_exact_marker() -> None:
    hook_calls: list[tuple[str, int]] = []
    c = FdrClient("cam", 4, on_overrun=lambda pid, n: hook_calls.append((pid, n)))
    results = [c.enqueue("k", {"i": i}) for i in range(10)]
    assert results[:4] == [EnqueueResult.OK] * 4
    assert results[4:] == [EnqueueResult.OVERRUN] * 6
    assert hook_calls == [("cam", n) for n in range(1, 7)]
    out = c.drain()
    marker = out[0]
    assert marker.kind == OVERRUN_KIND and marker.producer_id == FDR_PRODUCER_ID
    assert marker.payload == {"producer_id": "cam", "dropped_count": 6, "first_seq": 0, "last_seq": 5}
    assert _seqs(out) == [6, 7, 8, 9]  # the newest survive
    assert c.stats().dropped == 6


def test_losses_between_drains_give_one_marker_per_gap() -> None:
    c = FdrClient("p", 4)
    c.on_overrun = lambda pid, n: None
    for i in range(6):
        c.enqueue("k", {"i": i})
    first = c.drain()
    for i in range(6, 13):
        c.enqueue("k", {"i": i})
    second = c.drain()
    markers = [r for r in first + second if r.kind == OVERRUN_KIND]
    assert [m.payload["dropped_count"] for m in markers] == [2, 3]
    assert _seqs(first + second) == [2, 3, 4, 5, 9, 10, 11, 12]


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.sampled_from([1, 2, 4, 8, 16]),
    ops=st.lists(st.one_of(st.integers(1, 40), st.just(0), st.just(-1)), min_size=1, max_size=40),
)
def test_loss_is_never_under_or_over_reported(capacity: int, ops: list[int]) -> None:
    """Any interleaving of enqueue bursts (n), pop_one (0) and drain(3) (-1): every record
    ever enqueued is either received or counted in exactly one marker."""
    c = FdrClient("p", capacity, on_overrun=lambda pid, n: None)
    sent = 0
    received: list[FdrRecord] = []
    for op in ops:
        if op > 0:
            for _ in range(op):
                c.enqueue("k", {"i": sent})
                sent += 1
        elif op == 0:
            r = c.pop_one()
            if r is not None:
                received.append(r)
        else:
            received.extend(c.drain(3))
    received.extend(c.drain())
    got = _seqs(received)
    assert got == sorted(got) and len(set(got)) == len(got)
    lost = sum(r.payload["dropped_count"] for r in received if r.kind == OVERRUN_KIND)
    assert len(got) + lost == sent
    # every marker names exactly the sequence numbers missing before the next survivor
    missing = sorted(set(range(sent)) - set(got))
    spans = [range(r.payload["first_seq"], r.payload["last_seq"] + 1) for r in received if r.kind == OVERRUN_KIND]
    assert sorted(s for span in spans for s in span) == missing


def test_concurrent_producer_and_consumer_lose_nothing_silently() -> None:
    c = FdrClient("p", 64, on_overrun=lambda pid, n: None)
    n_total = 60_000
    received: list[FdrRecord] = []
    done = threading.Event()

    def produce() -> None:
        for i in range(n_total):
            c.enqueue("k", {"i": i})
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    while not done.is_set() or len(c):
        received.extend(c.drain(50))
    t.join()
    received.extend(c.drain())
    got = _seqs(received)
    assert got == sorted(got) and len(set(got)) == len(got)
    lost = sum(r.payload["dropped_count"] for r in received if r.kind == OVERRUN_KIND)
    assert len(got) + lost == n_total
    assert got[-1] == n_total - 1


def test_on_overrun_rejects_non_callables() -> None:
    c = FdrClient("p", 4)
    with pytest.raises(TypeError, match="callable"):
        c.on_overrun = 42  # type: ignore[assignment]
    with pytest.raises(TypeError):
        FdrClient("p", 4, on_overrun="nope")  # type: ignore[arg-type]


def test_a_raising_overrun_hook_never_breaks_enqueue() -> None:
    def boom(pid: str, n: int) -> None:
        raise RuntimeError("hook bug")

    c = FdrClient("p", 1, on_overrun=boom)
    assert c.enqueue("k", {"i": 0}) is EnqueueResult.OK
    assert c.enqueue("k", {"i": 1}) is EnqueueResult.OVERRUN


def test_spsc_guard_raises_on_a_second_producer_thread() -> None:
    c = FdrClient("p", 8, spsc_guard=True)
    c.enqueue("k", {"i": 0})
    errors: list[BaseException] = []

    def other() -> None:
        try:
            c.enqueue("k", {"i": 1})
        except FdrSpscViolationError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, FdrSpscViolationError) and err.side == "producer" and err.producer_id == "p"


def test_spsc_guard_raises_on_a_second_consumer_thread() -> None:
    c = FdrClient("p", 8, spsc_guard=True)
    c.enqueue("k", {"i": 0})
    c.pop_one()
    errors: list[BaseException] = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(FdrSpscViolationError, c.drain).value))
    t.start()
    t.join()
    assert errors and errors[0].side == "consumer"  # type: ignore[attr-defined]


def test_without_guard_other_threads_are_not_checked() -> None:
    c = FdrClient("p", 8)
    t = threading.Thread(target=lambda: c.enqueue("k", {"i": 0}))
    t.start()
    t.join()
    c.enqueue("k", {"i": 1})
    assert len(c.drain()) == 2


def test_flush_waits_for_the_consumer_and_times_out_without_one() -> None:
    c = FdrClient("p", 8)
    c.enqueue("k", {"i": 0})
    assert c.flush(timeout_s=0.05) is False
    t = threading.Timer(0.02, c.drain)
    t.start()
    assert c.flush(timeout_s=2.0) is True
    t.join()


def test_drain_respects_max_records_across_the_wrap() -> None:
    c = FdrClient("p", 8)
    for i in range(6):
        c.enqueue("k", {"i": i})
    assert _seqs(c.drain(4)) == [0, 1, 2, 3]
    for i in range(6, 12):
        c.enqueue("k", {"i": i})
    assert _seqs(c.drain(5)) == [4, 5, 6, 7, 8]
    assert _seqs(c.drain()) == [9, 10, 11]
    assert c.drain(0) == []


class _Token:
    """A weak-referenceable object carried in a payload, to see whether the ring still holds it."""


def test_drained_records_are_released_by_the_ring() -> None:
    """A written record must not stay referenced by its slot until the ring laps:
    after a drain, the producer's next enqueue empties the consumed slots, so the
    ring holds at most its unconsumed backlog whatever the number of records."""
    import gc
    import weakref

    c = FdrClient("p", 64)
    refs: list[weakref.ref[_Token]] = []
    for round_ in range(40):  # 40 x 10 records through a 64-slot ring: it laps six times
        for i in range(10):
            tok = _Token()
            refs.append(weakref.ref(tok))
            assert c.enqueue("k", {"i": round_ * 10 + i, "tok": tok}) is EnqueueResult.OK
        del tok
        drained = c.drain()
        assert _seqs(drained) == list(range(round_ * 10, round_ * 10 + 10))
        del drained
    c.enqueue("k", {"i": -1})  # the producer releases what the last drain took
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert alive == []  # nothing written is kept: the ring holds only the one pending record
    assert len(c) == 1 and _seqs(c.drain()) == [-1]


def test_released_slots_never_lose_a_pending_record() -> None:
    """Releasing consumed slots across the wrap, with a backlog left behind, keeps
    every pending record and the exact overrun accounting."""
    c = FdrClient("p", 8)
    for i in range(6):
        c.enqueue("k", {"i": i})
    assert _seqs(c.drain(4)) == [0, 1, 2, 3]  # 4, 5 stay pending
    for i in range(6, 12):  # wraps; releases slots 0..3 on the way
        assert c.enqueue("k", {"i": i}) is EnqueueResult.OK
    assert _seqs(c.drain()) == list(range(4, 12))
    for i in range(12, 22):  # overrun by 2: drop-oldest as before
        c.enqueue("k", {"i": i})
    out = c.drain()
    assert _seqs(out) == list(range(14, 22))
    assert [r.payload["dropped_count"] for r in out if r.kind == OVERRUN_KIND] == [2]
    assert c.stats().dropped == 2
