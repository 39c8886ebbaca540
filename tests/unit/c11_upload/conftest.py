"""Fixtures of the capture store tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest


class RecordingSink:
    """Keeps every (kind, payload) it is given, like the FDR client's fake."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.records.append((kind, dict(payload)))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.records]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def operator_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


@pytest.fixture
def ingest(tmp_path, operator_key):
    """A reference ingest server on loopback (in this process) trusting `operator_key`."""
    from ingest_env import write_trust

    from gps_denied_onboard.components.c11_tile_manager.ingest import IngestServer, IngestServerConfig

    trust = write_trust(tmp_path / "operators.json", [operator_key])
    config = IngestServerConfig(storage_root=tmp_path / "ingest", operator_keys_path=trust,
                                max_body_bytes=256 * 1024)
    with IngestServer(config) as server:
        yield server
