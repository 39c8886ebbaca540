"""`fdr:` — flight data recorder (fdr_client + c13_fdr). There is deliberately no
switch to disable the FDR."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FdrConfig:
    flight_root: str = "/var/lib/gdn/flights"
    # Ring capacity per producer (rounded up to a power of two); `queue_size` is the fallback.
    per_producer_capacity: int | None = None
    queue_size: int = 4096
    segment_bytes: int = 64 * 1024 * 1024
    flight_cap_bytes: int = 64 * 1024 * 1024 * 1024
    fsync_interval_s: float = 1.0
    drain_batch: int = 512
    resync_interval_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("queue_size", "segment_bytes", "flight_cap_bytes", "drain_batch", "resync_interval_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"fdr.{name} must be > 0, got {getattr(self, name)}")
        if self.per_producer_capacity is not None and self.per_producer_capacity <= 0:
            raise ValueError(f"fdr.per_producer_capacity must be > 0, got {self.per_producer_capacity}")
        if not 0.0 < self.fsync_interval_s <= 1.0:
            raise ValueError(f"fdr.fsync_interval_s must be in (0, 1], got {self.fsync_interval_s}")
        if self.segment_bytes > self.flight_cap_bytes:
            raise ValueError("fdr.segment_bytes must not exceed fdr.flight_cap_bytes")
