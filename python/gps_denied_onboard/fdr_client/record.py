"""The FDR record envelope (contract: docs/contracts/fdr-record-schema.md)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Major.minor. A new optional envelope field is a minor bump; renaming or
# removing one, or changing its meaning, is a major bump.
FDR_RECORD_SCHEMA_VERSION = "1.1"

# The producer id the recorder itself uses for the records it synthesises
# (overrun markers, segment rollovers, policy markers).
FDR_PRODUCER_ID = "fdr"


class EnqueueResult(enum.Enum):
    """What `FdrClient.enqueue` did. It never blocks and never raises on a full ring."""

    OK = "ok"
    # The ring was full: the oldest record was overwritten to make room
    # (drop-oldest, retry). The consumer reports the exact loss as a marker.
    OVERRUN = "overrun"


@dataclass(frozen=True, slots=True)
class FdrRecord:
    """One recorded event.

    `ts` is monotonic nanoseconds stamped at enqueue; `seq` is the producer's own
    enqueue counter (0, 1, 2, ...) so a gap is visible; `flags` lists what the
    recorder noticed about the record (e.g. "unregistered_kind").
    """

    schema_version: str
    ts: int
    producer_id: str
    kind: str
    payload: Mapping[str, Any]
    seq: int = -1
    flags: tuple[str, ...] = field(default=())
