"""Pytest fixtures for the FDR test doubles (import them into a test module or conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gps_denied_onboard.fdr_client.factory import FdrClientRegistry, _DefaultRegistryHolder
from gps_denied_onboard.fdr_client.testing.fake_sink import FakeFdrSink


@pytest.fixture
def fake_fdr_sink() -> FakeFdrSink:
    """A fresh `FakeFdrSink` (producer "test_producer", capacity 4096)."""
    return FakeFdrSink()


@pytest.fixture
def fake_fdr_registry() -> Iterator[FdrClientRegistry]:
    """A fresh process-wide client registry for the test (restored afterwards), so
    `make_fdr_client` calls inside the code under test land in it."""
    with _DefaultRegistryHolder.lock:
        saved = _DefaultRegistryHolder.registry
        _DefaultRegistryHolder.registry = FdrClientRegistry()
        fresh = _DefaultRegistryHolder.registry
    try:
        yield fresh
    finally:
        with _DefaultRegistryHolder.lock:
            _DefaultRegistryHolder.registry = saved
