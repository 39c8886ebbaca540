"""Errors of c13_fdr: every error this component raises derives from `FdrError`."""

from __future__ import annotations


class FdrError(Exception):
    """Base class of c13_fdr errors."""


class FdrConcurrentWriterError(FdrError):
    """Another writer holds the flight-root lock (`flight_root/.fdr.lock`)."""

    def __init__(self, lock_path: str, holder: str) -> None:
        super().__init__(f"another FDR writer holds {lock_path} (holder: {holder or 'unknown'})")
        self.lock_path = lock_path
        self.holder = holder


class FdrLifecycleError(FdrError):
    """A lifecycle call out of order (e.g. open_flight before start, or twice)."""


class FdrHeaderError(FdrError):
    """The flight header is unusable; names the field and the bad value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"flight header field {field}={value!r}: {reason}")
        self.field = field
        self.value = value


class FdrFlightIdMismatchError(FdrHeaderError):
    """`open_flight` got a header whose flight_id is not the one this writer was built for."""


class FdrFormatError(FdrError):
    """A file is not an FDR segment or a flight directory is unreadable; names file and offset."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path} at byte {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason
