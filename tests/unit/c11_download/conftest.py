from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tile_server import TileServer  # noqa: E402


@pytest.fixture
def server() -> Iterator[TileServer]:
    with TileServer(slow_s=1.0) as s:
        yield s
