"""XYZ / TMS tile servers over HTTP: bounded concurrency, optional rate limit,
retries with exponential backoff (honouring Retry-After), resume from a local
download store, honest errors (404 vs 5xx vs timeout vs connection)."""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import requests

from gps_denied_onboard import __version__
from gps_denied_onboard._types import TileXYZ, ground_resolution_m_per_px
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c11_tile_manager.download.errors import (
    DownloadIncompleteError,
    TileConnectionError,
    TileDecodeError,
    TileFetchError,
    TileHttpError,
    TileNotFoundError,
    TileServerError,
    TileSourceError,
    TileTimeoutError,
)
from gps_denied_onboard.components.c11_tile_manager.download.interface import (
    TILE_SIZE,
    FetchedTile,
    Progress,
    decode_validity,
)
from gps_denied_onboard.logging import get_logger

_log = get_logger("c11_tile_manager")
_PLACEHOLDERS = re.compile(r"\{(z|x|y|-y|TileMatrix|TileCol|TileRow)\}")
_WMTS = {"TileMatrix": "z", "TileCol": "x", "TileRow": "y"}  # WMTS RESTful templates on a GoogleMapsCompatible set
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_RETRY_AFTER_S = 30.0


class _Pacer:
    """At most `rate` request starts per second across all workers."""

    def __init__(self, rate: float | None, clock: Clock) -> None:
        self._interval_ns = int(1e9 / rate) if rate else 0
        self._clock = clock
        self._next = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval_ns:
            return
        with self._lock:
            now = self._clock.monotonic_ns()
            slot = max(now, self._next)
            self._next = slot + self._interval_ns
        if slot > now:
            self._clock.sleep((slot - now) / 1e9)


class XyzTileSource:
    """Tiles from `url_template` with {z} {x} {y} (XYZ rows) or {-y} (TMS rows), or a
    WMTS RESTful template ({TileMatrix} {TileCol} {TileRow}, GoogleMapsCompatible
    matrix set); `tms=True` makes {y} the TMS row. Downloads land in `download_dir` (one
    sub-folder per template), so an interrupted run resumes where it stopped."""

    def __init__(self, url_template: str, *, download_dir: str | os.PathLike[str], zoom: int | None = None,
                 tms: bool = False, concurrency: int = 4, max_attempts: int = 4, backoff_s: float = 0.5,
                 timeout_s: float = 10.0, rate_limit_per_s: float | None = None,
                 headers: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        names = {_WMTS.get(n, n) for n in _PLACEHOLDERS.findall(url_template)}
        if not url_template.startswith(("http://", "https://")) or "z" not in names or "x" not in names or not ({"y", "-y"} & names):
            raise TileSourceError(f"XYZ URL template {url_template!r} needs http(s):// and {{z}}, {{x}} and {{y}} or {{-y}}")
        if concurrency < 1 or max_attempts < 1 or timeout_s <= 0 or backoff_s < 0:
            raise TileSourceError(f"bad downloader settings: concurrency={concurrency}, max_attempts={max_attempts}, "
                                  f"timeout_s={timeout_s}, backoff_s={backoff_s}")
        self._template = url_template
        self._zoom = zoom
        self._tms = tms
        self._concurrency = concurrency
        self._attempts = max_attempts
        self._backoff = backoff_s
        self._timeout = timeout_s
        self._clock = clock or WallClock()
        self._pacer = _Pacer(rate_limit_per_s, self._clock)
        self._headers = {"User-Agent": f"gps_denied_onboard/{__version__} (map cache provisioning)", **(headers or {})}
        key = hashlib.sha256(f"{url_template}|tms={tms}".encode()).hexdigest()[:16]
        self._store = Path(download_dir) / key
        self._local = threading.local()
        self._missing: set[TileXYZ] = set()
        self.requests_made = 0
        self._count_lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"XYZ {self._template}"

    @property
    def store(self) -> Path:
        """Where downloaded tiles are kept for resume."""
        return self._store

    @property
    def missing(self) -> frozenset[TileXYZ]:
        """Tiles the server answered 404 for in `prepare`."""
        return frozenset(self._missing)

    def native_zoom(self, bbox: tuple[float, float, float, float]) -> int:
        """The configured zoom, else the zoom nearest 0.5 m/px (a typical orthophoto)."""
        if self._zoom is not None:
            return self._zoom
        lat_c = (bbox[0] + bbox[2]) / 2.0
        return min(range(0, 23), key=lambda z: abs(ground_resolution_m_per_px(lat_c, z) - 0.5))

    def coverage_hint(self) -> str:
        return f"the server {self._template} returned no tile for this bbox (wrong zoom, TMS vs XYZ rows, or area not served?)"

    def url(self, tile: TileXYZ) -> str:
        y = tile.y if not self._tms else (1 << tile.z) - 1 - tile.y
        values = {"z": tile.z, "x": tile.x, "y": y, "-y": (1 << tile.z) - 1 - tile.y, "TileMatrix": tile.z,
                  "TileCol": tile.x, "TileRow": y}
        return _PLACEHOLDERS.sub(lambda m: str(values[m.group(1)]), self._template)

    def _path(self, tile: TileXYZ) -> Path:
        return self._store / str(tile.z) / str(tile.x) / f"{tile.y}.tile"

    def _missing_marker(self, tile: TileXYZ) -> Path:
        return self._store / str(tile.z) / str(tile.x) / f"{tile.y}.404"

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers.update(self._headers)
            self._local.session = s
        return s

    def fetch_one(self, tile: TileXYZ) -> bytes:
        """Download one tile with retries. Raises the honest `TileFetchError` subclass."""
        url = self.url(tile)
        last: TileFetchError | None = None
        for attempt in range(1, self._attempts + 1):
            self._pacer.wait()
            with self._count_lock:
                self.requests_made += 1
            delay = self._backoff * (2 ** (attempt - 1)) * (1.0 + 0.25 * random.random())
            try:
                resp = self._session().get(url, timeout=self._timeout)
            except requests.Timeout:
                last = TileTimeoutError(url, tile, self._timeout, attempt)
            except requests.ConnectionError as exc:
                last = TileConnectionError(url, tile, f"connection failed: {type(exc).__name__}", attempt)
            else:
                if resp.status_code == 200:
                    return resp.content
                if resp.status_code == 404:
                    raise TileNotFoundError(url, tile)
                if resp.status_code not in _RETRY_STATUS:
                    raise TileHttpError(url, tile, resp.status_code, attempt)
                last = TileServerError(url, tile, resp.status_code, attempt)
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.strip().isdigit():
                    delay = min(float(retry_after), _MAX_RETRY_AFTER_S)
            if attempt < self._attempts:
                _log.debug("tile fetch retry", kind="c11_tile_retry", url=url, attempt=attempt, error=str(last))
                self._clock.sleep(delay)
        assert last is not None
        raise last

    def _download(self, tile: TileXYZ) -> None:
        data = self.fetch_one(tile)
        if decode_validity(data) is None:
            raise TileDecodeError(self.url(tile), tile, f"body of {len(data)} bytes is not a PNG/JPEG image")
        path = self._path(tile)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a killed run leaves only .part files, never a torn tile

    def prepare(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> None:
        """Download every tile not already in the store. 404s are recorded in `missing`
        (and remembered in the store: delete it to ask again); other failures are
        collected and raised together as `DownloadIncompleteError`."""
        todo = []
        for t in tiles:
            if self._missing_marker(t).is_file():
                self._missing.add(t)
            elif not self._path(t).is_file():
                todo.append(t)
        if progress is not None and len(todo) < len(tiles):
            progress.update(len(tiles) - len(todo))
        failures: dict[TileXYZ, TileFetchError] = {}
        done = 0
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="tile-dl") as pool:
            futures = {pool.submit(self._download, t): t for t in todo}
            for fut in as_completed(futures):
                tile = futures[fut]
                try:
                    fut.result()
                    done += 1
                except TileNotFoundError:
                    self._missing.add(tile)
                    marker = self._missing_marker(tile)
                    marker.parent.mkdir(parents=True, exist_ok=True)
                    marker.touch()
                except TileFetchError as exc:
                    failures[tile] = exc
                if progress is not None:
                    progress.update(1)
        if failures:
            raise DownloadIncompleteError(failures, done + len(tiles) - len(todo))

    def identity(self, tiles: Sequence[TileXYZ]) -> str:
        """Hash over the template and every stored tile's SHA-256 (the tile-hash aggregate)."""
        h = hashlib.sha256(f"xyz/1|{self._template}|tms={self._tms}|".encode())
        for t in sorted(tiles):
            path = self._path(t)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
            h.update(f"{t.z}/{t.x}/{t.y}:{digest};".encode())
        return h.hexdigest()

    def fetch(self, tiles: Sequence[TileXYZ], progress: Progress | None = None) -> Iterator[FetchedTile]:
        """Yield the stored tiles. A stored tile that no longer decodes is deleted (so the
        next run downloads it again) and reported."""
        for t in tiles:
            path = self._path(t)
            if path.is_file():
                data = path.read_bytes()
                info = decode_validity(data)
                if info is None or info[0] != (TILE_SIZE, TILE_SIZE):
                    path.unlink(missing_ok=True)
                    what = "not a decodable image" if info is None else f"{info[0][1]}x{info[0][0]} px, expected {TILE_SIZE}x{TILE_SIZE}"
                    raise TileDecodeError(self.url(t), t, f"stored tile {path} is {what}; removed, re-run to fetch it again")
                yield t, data, info[1]
            if progress is not None:
                progress.update(1)
