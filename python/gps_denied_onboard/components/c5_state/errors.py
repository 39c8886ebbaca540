"""Errors of c5_state: every error this component raises derives from `StateError`."""

from __future__ import annotations

from typing import Any

import numpy as np


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


def check_cov_2x2(cov: Any, name: str, t_ns: int) -> None:
    """Raise `MeasurementError` naming `name` unless `cov` is a finite positive-definite 2x2 matrix."""
    c = np.asarray(cov, np.float64)
    if c.shape != (2, 2) or not np.all(np.isfinite(c)) or c[0, 0] <= 0 or c[1, 1] <= 0 or np.linalg.det(c) <= 0:
        raise MeasurementError(name, c.tolist() if c.size <= 4 else c.shape, "a finite positive-definite 2x2 matrix (m^2)", t_ns)
