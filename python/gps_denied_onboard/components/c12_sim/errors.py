"""Errors of c12_sim: every error this component raises derives from `SimError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SimError(Exception):
    """Base class of c12_sim errors. Names the file and field where that applies."""

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None, value: Any = None):
        self.path = None if path is None else Path(path)
        self.field = field
        self.value = value
        where = [str(self.path)] if self.path is not None else []
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class RasterError(SimError):
    """A map or flight-date raster cannot be opened or has no usable georeference."""


class PairError(SimError):
    """A co-registered pair (pair.yaml) is missing, malformed or inconsistent."""


class FlightPlanError(SimError):
    """The requested flight does not fit the map (altitude, speed, duration, area)."""


class BenchError(SimError):
    """The benchmark cannot run: bad suite, missing localizer, unusable output."""


class LocalizerUnavailableError(BenchError):
    """The requested localizer is not part of this build yet."""
