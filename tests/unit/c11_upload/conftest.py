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
