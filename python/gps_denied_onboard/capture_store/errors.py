"""Errors of the capture store; all derive from `CaptureStoreError`."""

from __future__ import annotations

from typing import Any


class CaptureStoreError(Exception):
    """Base class of capture store errors."""


class CaptureValueError(CaptureStoreError, ValueError):
    """A capture or its metadata is invalid. Carries the field and the bad value."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(f"capture {field}={value!r} is invalid: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected


class CaptureTooLargeError(CaptureStoreError):
    """One capture is larger than the whole store may hold."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(f"capture of {size} bytes exceeds the store's max_bytes={max_bytes}")
        self.size = size
        self.max_bytes = max_bytes


class CaptureExistsError(CaptureStoreError):
    """A capture with the same id (frame time) is already stored."""

    def __init__(self, capture_id: str) -> None:
        super().__init__(f"capture {capture_id} is already in the store")
        self.capture_id = capture_id


class CaptureStoreFormatError(CaptureStoreError):
    """A store directory or one of its files is not in the documented format (`path` names it)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class CaptureWriteError(CaptureStoreError):
    """Writing a capture to disk failed (disk full, I/O error); nothing half-written is kept."""
