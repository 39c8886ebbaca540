"""`make_fdr_client`: one cached `FdrClient` per producer, registered for the writer."""

from __future__ import annotations

import threading
from typing import Any

from gps_denied_onboard.config.sections.fdr import FdrConfig
from gps_denied_onboard.fdr_client.client import FdrClient, round_up_pow2
from gps_denied_onboard.fdr_client.overrun import OverrunHook


def capacity_from_config(config: Any) -> int:
    """Ring capacity from `config.fdr` (or an `FdrConfig`): `per_producer_capacity`,
    falling back to `queue_size`, rounded up to a power of two."""
    fdr = getattr(config, "fdr", config)
    if not isinstance(fdr, FdrConfig):
        raise TypeError(f"expected a GdnConfig or FdrConfig, got {type(config).__name__}")
    wanted = fdr.per_producer_capacity if fdr.per_producer_capacity is not None else fdr.queue_size
    return round_up_pow2(wanted)


class FdrClientRegistry:
    """Every client made so far, by producer id. The FDR writer drains all of them.

    Thread-safe; `clients()` returns a snapshot, and `version` changes whenever a
    client is added so a consumer can refresh its list cheaply.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, FdrClient] = {}
        self.version = 0

    def get_or_create(
        self,
        producer_id: str,
        capacity: int,
        *,
        capacity_explicit: bool = False,
        spsc_guard: bool = False,
        on_overrun: OverrunHook | None = None,
    ) -> FdrClient:
        if not isinstance(producer_id, str) or not producer_id:
            raise ValueError(f"producer_id must be a non-empty string, got {producer_id!r}")
        with self._lock:
            client = self._clients.get(producer_id)
            if client is None:
                client = FdrClient(producer_id, capacity, spsc_guard=spsc_guard, on_overrun=on_overrun)
                self._clients[producer_id] = client
                self.version += 1
            elif capacity_explicit and client.capacity != round_up_pow2(capacity):
                raise ValueError(
                    f"FDR client {producer_id!r} already exists with capacity {client.capacity}, "
                    f"not {round_up_pow2(capacity)}"
                )
            return client

    def add(self, client: FdrClient) -> FdrClient:
        """Register an externally built client (e.g. a test double); its id must be new."""
        with self._lock:
            if client.producer_id in self._clients and self._clients[client.producer_id] is not client:
                raise ValueError(f"FDR client {client.producer_id!r} is already registered")
            self._clients[client.producer_id] = client
            self.version += 1
            return client

    def clients(self) -> list[FdrClient]:
        with self._lock:
            return list(self._clients.values())

    def get(self, producer_id: str) -> FdrClient | None:
        with self._lock:
            return self._clients.get(producer_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)


class _DefaultRegistryHolder:
    """Lazily created process-wide registry (nothing is created at import time)."""

    lock = threading.Lock()
    registry: FdrClientRegistry | None = None


def default_client_registry() -> FdrClientRegistry:
    """The process-wide registry `make_fdr_client` uses by default."""
    with _DefaultRegistryHolder.lock:
        if _DefaultRegistryHolder.registry is None:
            _DefaultRegistryHolder.registry = FdrClientRegistry()
        return _DefaultRegistryHolder.registry


def make_fdr_client(
    producer_id: str,
    config: Any = None,
    *,
    capacity: int | None = None,
    spsc_guard: bool = False,
    on_overrun: OverrunHook | None = None,
    registry: FdrClientRegistry | None = None,
) -> FdrClient:
    """The FDR client of `producer_id`, created on first use and cached.

    Capacity: `capacity` if given, else from `config` (a GdnConfig or FdrConfig:
    `fdr.per_producer_capacity`, fallback `fdr.queue_size`), else the FdrConfig
    default; rounded up to a power of two. Raises ValueError for an empty id, or
    for an explicit capacity that contradicts an existing client's.
    """
    if not isinstance(producer_id, str) or not producer_id:
        raise ValueError(f"producer_id must be a non-empty string, got {producer_id!r}")
    explicit = capacity is not None
    if capacity is None:
        capacity = capacity_from_config(config if config is not None else FdrConfig())
    reg = registry if registry is not None else default_client_registry()
    return reg.get_or_create(
        producer_id, capacity, capacity_explicit=explicit, spsc_guard=spsc_guard, on_overrun=on_overrun
    )
