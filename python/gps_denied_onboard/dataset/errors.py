"""Errors of the flight dataset and estimate-file readers.

Every error derives from `DatasetError` and names where the problem is: the
file, and where it applies the line (1-based, as an editor shows it), the
column or yaml field, the frame, and the offending value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class DatasetError(Exception):
    """A flight dataset or an estimate file is missing, malformed or inconsistent."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        value: Any = None,
        frame: int | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.line = line
        self.field = field
        self.value = value
        self.frame = frame
        self.detail = message
        where = []
        if self.path is not None:
            where.append(str(self.path) + (f":{line}" if line is not None else ""))
        if field is not None:
            where.append(f"field {field!r}")
        if frame is not None:
            where.append(f"frame {frame}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class MissingStreamError(DatasetError):
    """A required file or stream of the dataset is absent."""


class UnknownFormatError(DatasetError):
    """`flight.yaml` declares a `format` this reader does not know."""


class CsvFormatError(DatasetError):
    """A CSV stream has a bad header, a short row or a value that does not parse."""


class UnsortedTimestampsError(DatasetError):
    """Timestamps of a stream are not strictly increasing."""


class YamlFormatError(DatasetError):
    """A yaml file does not parse or a field has the wrong type or value."""


class ImageDecodeError(DatasetError):
    """A frame's image file is missing, does not decode, or has the wrong size."""


class PhotoMetadataError(DatasetError):
    """A geotagged photo lacks an EXIF/XMP field needed to use it as a flight frame."""
