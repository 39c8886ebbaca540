"""Errors of c7_geo_registration: every error this component raises derives from `GeoRegistrationError`."""

from __future__ import annotations

from typing import Any


class GeoRegistrationError(Exception):
    """Base class of c7_geo_registration errors."""


class MapLoadError(GeoRegistrationError):
    """A map raster cannot be opened or has no usable georeference. Names the file and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot use map {path!r}: {reason}")
        self.path = path
        self.reason = reason


class RegistrationInputError(GeoRegistrationError):
    """A registration input (frame, attitude, altitude) is unusable. Carries the field,
    the bad value and the frame timestamp it came with."""

    def __init__(self, field: str, value: Any, expected: str, frame_ts_ns: int | None = None) -> None:
        where = f" (frame {frame_ts_ns})" if frame_ts_ns is not None else ""
        super().__init__(f"{field}={value!r} is invalid{where}: expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected
        self.frame_ts_ns = frame_ts_ns
