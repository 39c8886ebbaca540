"""Errors of fdr_client: every error this package raises derives from `FdrClientError`."""

from __future__ import annotations


class FdrClientError(Exception):
    """Base class of fdr_client errors."""


class FdrSpscViolationError(FdrClientError):
    """A second thread used one side of a single-producer/single-consumer ring.

    Raised only when the client was built with `spsc_guard=True`; carries the
    producer id, the side ("producer" or "consumer") and both thread ids.
    """

    def __init__(self, producer_id: str, side: str, owner_thread: int, offending_thread: int) -> None:
        super().__init__(
            f"FDR client {producer_id!r}: {side} side used from thread {offending_thread} "
            f"but it belongs to thread {owner_thread} (one {side} thread per client)"
        )
        self.producer_id = producer_id
        self.side = side
        self.owner_thread = owner_thread
        self.offending_thread = offending_thread
