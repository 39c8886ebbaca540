"""Errors of the tile sources (download side of C11), rooted in `TileManagerError`.

Network failures are told apart honestly: the tile does not exist (404), the
server failed (5xx after every retry), the server was too slow (timeout after
every retry), the connection failed, or the body is not an image.
"""

from __future__ import annotations

from typing import Any

from gps_denied_onboard.components.c11_tile_manager.errors import TileManagerError


class TileSourceError(TileManagerError):
    """Base class of tile-source errors."""


class RasterSourceError(TileSourceError):
    """A raster map source (GeoTIFF/COG, image + world file) is unusable; `path` names it."""

    def __init__(self, path: str, reason: str, value: Any = None) -> None:
        super().__init__(f"raster source {path}: {reason}" + (f" (got {value!r})" if value is not None else ""))
        self.path = path
        self.reason = reason
        self.value = value


class TileFetchError(TileSourceError):
    """One tile could not be fetched. `url`, `tile`, `attempts` say which and how hard we tried."""

    def __init__(self, url: str, tile: Any, message: str, attempts: int = 1) -> None:
        super().__init__(f"tile {tile} from {url}: {message} (after {attempts} attempt{'s' if attempts != 1 else ''})")
        self.url = url
        self.tile = tile
        self.attempts = attempts


class TileHttpError(TileFetchError):
    """The server answered with an HTTP error status (`status`)."""

    def __init__(self, url: str, tile: Any, status: int, attempts: int = 1) -> None:
        super().__init__(url, tile, f"HTTP {status}", attempts)
        self.status = status


class TileNotFoundError(TileHttpError):
    """HTTP 404: the server has no such tile (never retried)."""

    def __init__(self, url: str, tile: Any) -> None:
        super().__init__(url, tile, 404, 1)


class TileServerError(TileHttpError):
    """HTTP 5xx (or 429) on every attempt."""


class TileTimeoutError(TileFetchError):
    """The server did not answer within the timeout on every attempt."""

    def __init__(self, url: str, tile: Any, timeout_s: float, attempts: int) -> None:
        super().__init__(url, tile, f"timed out after {timeout_s:g} s", attempts)
        self.timeout_s = timeout_s


class TileConnectionError(TileFetchError):
    """The connection failed on every attempt (refused, reset, DNS)."""


class TileDecodeError(TileFetchError):
    """The tile body is not a decodable 8-bit image of the expected size."""


class DownloadIncompleteError(TileSourceError):
    """Some tiles failed after every retry; the others are kept for a resumed run.

    `failures` maps each failed tile to its `TileFetchError`.
    """

    def __init__(self, failures: dict[Any, TileFetchError], downloaded: int) -> None:
        kinds: dict[str, int] = {}
        for err in failures.values():
            kinds[type(err).__name__] = kinds.get(type(err).__name__, 0) + 1
        first = next(iter(failures.values()))
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        super().__init__(f"{len(failures)} tiles failed ({summary}); {downloaded} downloaded and kept for resume; "
                         f"first: {first}")
        self.failures = failures
        self.downloaded = downloaded
