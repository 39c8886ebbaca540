"""Errors of c4_map_cache: every error this component raises derives from `MapCacheError`.

Integrity refusals (`CacheIntegrityError` and its subclasses) are named for the
attack they stop, and always name the file (or tile) and carry the bad value.
"""

from __future__ import annotations

from typing import Any


class MapCacheError(Exception):
    """Base class of c4_map_cache errors."""


class CacheLayoutError(MapCacheError):
    """A cache file is missing, unreadable or malformed (`path` names it)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"map cache {path}: {reason}")
        self.path = path
        self.reason = reason


class CalibrationError(MapCacheError):
    """A camera calibration yaml (ASL sensor.yaml layout) is invalid: `key` and `value` say where."""

    def __init__(self, path: str, key: str, value: Any, expected: str) -> None:
        super().__init__(f"camera calibration {path}: {key}={value!r}, expected {expected}")
        self.path = path
        self.key = key
        self.value = value
        self.expected = expected


class CacheIntegrityError(MapCacheError):
    """The cache is not what the operator signed. `path` names the file or tile."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"map cache refused, {path}: {message}")
        self.path = path


class ManifestFormatError(CacheIntegrityError):
    """The signed manifest is not a valid gdn-cache manifest (`key` and `value` say where)."""

    def __init__(self, path: str, key: str, value: Any, expected: str) -> None:
        super().__init__(path, f"manifest field {key}={value!r}, expected {expected}")
        self.key = key
        self.value = value


class BadSignatureError(CacheIntegrityError):
    """The manifest signature does not verify with a trusted key (arbitrary-installation attack)."""


class UntrustedKeyError(BadSignatureError):
    """The manifest is signed by a key that is not in the trusted set (`key_id`)."""

    def __init__(self, path: str, key_id: str) -> None:
        super().__init__(path, f"signed by untrusted key id {key_id}")
        self.key_id = key_id


class HashMismatchError(CacheIntegrityError):
    """A file's SHA-256 differs from the signed manifest's."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(path, f"sha256 {actual} does not match the manifest's {expected}")
        self.expected = expected
        self.actual = actual


class LengthMismatchError(CacheIntegrityError):
    """A file is shorter than the signed manifest says (truncation)."""

    def __init__(self, path: str, expected: int, actual: int) -> None:
        super().__init__(path, f"length {actual} bytes, the manifest says {expected}")
        self.expected = expected
        self.actual = actual


class OversizedFileError(CacheIntegrityError):
    """A file is longer than allowed: its manifest length or a hard cap (endless-data attack)."""

    def __init__(self, path: str, limit: int, actual: int) -> None:
        super().__init__(path, f"{actual} bytes exceeds the limit of {limit} bytes")
        self.limit = limit
        self.actual = actual


class RollbackError(CacheIntegrityError):
    """The manifest is older than the newest one already accepted from this key (rollback attack)."""

    def __init__(self, path: str, version: int, highest_accepted: int) -> None:
        super().__init__(path, f"manifest version {version} is older than the accepted version {highest_accepted}")
        self.version = version
        self.highest_accepted = highest_accepted


class ExpiredManifestError(CacheIntegrityError):
    """The manifest expired before the verification time (indefinite-freeze attack)."""

    def __init__(self, path: str, expires: str, now: str) -> None:
        super().__init__(path, f"manifest expired at {expires} (now {now}); pass allow_expired to override")
        self.expires = expires
        self.now = now


class MixAndMatchError(CacheIntegrityError):
    """A file or tile belongs to another cache than the signed manifest (mix-and-match attack)."""


class FlightMismatchError(CacheIntegrityError):
    """The cache was provisioned for another flight than the one expected (wrong-cache attack)."""


class TileIntegrityError(CacheIntegrityError):
    """A tile read from the container does not hash to the value the verified manifest binds to it."""

    def __init__(self, tile: Any, expected: str, actual: str) -> None:
        super().__init__(f"tile {tile}", f"sha256 {actual} does not match the verified {expected}")
        self.tile = tile
        self.expected = expected
        self.actual = actual


class TileNotInCacheError(MapCacheError):
    """The requested tile is not part of this cache."""

    def __init__(self, tile: Any) -> None:
        super().__init__(f"tile {tile} is not in this map cache")
        self.tile = tile


class TileLocatorError(MapCacheError):
    """The tile container's B-tree is not what the direct-read locator can read (malformed,
    or a layout it does not know); tiles are then read through SQLite. `where` names the
    page or structure. Not a refusal: every tile read is still verified by its hash."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
