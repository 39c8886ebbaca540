"""Errors of the geo types."""

from __future__ import annotations

from typing import Any


class GeoValueError(ValueError):
    """A geo quantity is out of its valid range. Carries the field and the bad value."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(f"{field}={value!r} is invalid: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected
