"""Fixtures of the c11 upload tests: the FDR client's own test double as the record sink."""

from __future__ import annotations

import pytest

from gps_denied_onboard.fdr_client.registry import FLAG_MISSING_KEYS, FLAG_UNREGISTERED_KIND, normalize_payload
from gps_denied_onboard.fdr_client.testing import FakeFdrSink


@pytest.fixture
def sink():
    """A FakeFdrSink; on teardown every record it got must be a registered kind with
    all its required payload keys (fdr_client/kinds.py)."""
    fake = FakeFdrSink("c11_tile_manager")
    yield fake
    for record in fake.records:
        _, flags = normalize_payload(record.kind, record.payload)
        assert FLAG_UNREGISTERED_KIND not in flags and FLAG_MISSING_KEYS not in flags, (record.kind, flags)



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
