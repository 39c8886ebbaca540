"""Errors of c5_state: every error this component raises derives from `StateError`."""

from __future__ import annotations

from typing import Any


class StateError(Exception):
    """Base class of c5_state errors."""


class MeasurementError(StateError):
    """A measurement is unusable (non-finite, non-positive-definite covariance, or older
    than the filter's history). Carries the field, the bad value and its timestamp."""

    def __init__(self, field: str, value: Any, expected: str, timestamp_ns: int | None = None) -> None:
        where = f" at t={timestamp_ns} ns" if timestamp_ns is not None else ""
        super().__init__(f"{field}={value!r} is invalid{where}: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected
        self.timestamp_ns = timestamp_ns

