"""Errors of c1_camera: every error this component raises derives from `CameraError`."""

from __future__ import annotations

from typing import Any


class CameraError(Exception):
    """Base class of c1_camera errors."""


class CameraConfigError(CameraError):
    """A frame source was configured with an unusable value (names the field, carries the value)."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(f"{field}={value!r} is invalid: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected


class CameraOpenError(CameraError):
    """A live device could not be opened (after the configured retries)."""

    def __init__(self, device: str, attempts: int) -> None:
        super().__init__(f"camera {device!r} did not open after {attempts} attempt(s)")
        self.device = device
        self.attempts = attempts
