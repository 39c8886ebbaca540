from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cache_simulator import CacheSimulator  # noqa: E402

from gps_denied_onboard.clock import FakeClock  # noqa: E402


@pytest.fixture
def sim(tmp_path: Path) -> CacheSimulator:
    return CacheSimulator(tmp_path / "caches")


@pytest.fixture
def clock() -> FakeClock:
    """Frozen at 2026-01-01T00:00:00Z (FakeClock's default) like python-tuf's expiry tests."""
    return FakeClock()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "accepted_versions.json"
