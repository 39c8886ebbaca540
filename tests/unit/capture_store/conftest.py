"""Fixtures of the capture store tests: the FDR client's own test double as the record sink."""

from __future__ import annotations

import pytest

from gps_denied_onboard.fdr_client.registry import FLAG_MISSING_KEYS, FLAG_UNREGISTERED_KIND, normalize_payload
from gps_denied_onboard.fdr_client.testing import FakeFdrSink


@pytest.fixture
def sink():
    """A FakeFdrSink; on teardown every record it got must be a registered kind with
    all its required payload keys (fdr_client/kinds.py)."""
    fake = FakeFdrSink("capture_store")
    yield fake
    for record in fake.records:
        _, flags = normalize_payload(record.kind, record.payload)
        assert FLAG_UNREGISTERED_KIND not in flags and FLAG_MISSING_KEYS not in flags, (record.kind, flags)
