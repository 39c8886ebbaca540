"""The localizer's output files (DESIGN §5): `track.csv`, `fixes.csv`, `timing.csv`.

The airborne replay writes them through `EstimateWriter` (or the `write_*_csv`
functions); the benchmark reads them with `read_estimates`. Positions may be
NaN where the row carries none (track `source=none`, a refused fix that found
no position); everything else must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.dataset.csvio import Column, format_row, header_line, parse_float, read_rows, write_rows
from gps_denied_onboard.dataset.errors import CsvFormatError

TRACK_CSV = "track.csv"
FIXES_CSV = "fixes.csv"
TIMING_CSV = "timing.csv"

TRACK_COLUMNS: tuple[Column, ...] = (
    ("timestamp", "ns"), ("lat", "deg"), ("lon", "deg"), ("alt_msl", "m"),
    ("vn", "m/s"), ("ve", "m/s"), ("vd", "m/s"),
    ("cov_nn", "m^2"), ("cov_ne", "m^2"), ("cov_ee", "m^2"), ("source", ""), ("health", ""),
)
FIXES_COLUMNS: tuple[Column, ...] = (
    ("timestamp", "ns"), ("lat", "deg"), ("lon", "deg"),
    ("cov_nn", "m^2"), ("cov_ne", "m^2"), ("cov_ee", "m^2"), ("accepted", ""), ("reason", ""),
)
TIMING_COLUMNS: tuple[Column, ...] = (("timestamp", "ns"), ("latency", "ms"))

SOURCES = ("fix", "vo", "predict", "none")
HEALTHS = ("ok", "degraded", "lost")

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrackRow:
    """One fused output tick."""

    t_ns: int
    lat_deg: float
    lon_deg: float
    alt_msl_m: float
    vn: float
    ve: float
    vd: float
    cov_nn: float
    cov_ne: float
    cov_ee: float
    source: str
    health: str

    def cells(self) -> list[object]:
        return [
            int(self.t_ns), self.lat_deg, self.lon_deg, self.alt_msl_m, self.vn, self.ve, self.vd,
            self.cov_nn, self.cov_ne, self.cov_ee, self.source, self.health,
        ]


@dataclass(frozen=True)
class FixRow:
    """One registration attempt (timestamp = the frame's)."""

    t_ns: int
    lat_deg: float
    lon_deg: float
    cov_nn: float
    cov_ne: float
    cov_ee: float
    accepted: bool
    reason: str = ""

    def cells(self) -> list[object]:
        return [
            int(self.t_ns), self.lat_deg, self.lon_deg, self.cov_nn, self.cov_ne, self.cov_ee,
            bool(self.accepted), self.reason,
        ]


@dataclass(frozen=True)
class TimingRow:
    """Per-frame latency: wall time from frame available to output, in ms."""

    t_ns: int
    latency_ms: float

    def cells(self) -> list[object]:
        return [int(self.t_ns), self.latency_ms]


@dataclass(frozen=True, eq=False)
class Track:
    t_ns: npt.NDArray[np.int64]
    lat: F64
    lon: F64
    alt_msl: F64
    vel_ned: F64  # N x 3
    cov: F64  # N x 3: nn, ne, ee
    source: tuple[str, ...]
    health: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])


@dataclass(frozen=True, eq=False)
class Fixes:
    t_ns: npt.NDArray[np.int64]
    lat: F64
    lon: F64
    cov: F64  # N x 3: nn, ne, ee
    accepted: npt.NDArray[np.bool_]
    reason: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])


@dataclass(frozen=True, eq=False)
class Timing:
    t_ns: npt.NDArray[np.int64]
    latency_ms: F64

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])


@dataclass(frozen=True, eq=False)
class Estimates:
    """Everything a localizer run wrote into its out dir."""

    track: Track
    fixes: Fixes
    timing: Timing


def write_track_csv(path: str | Path, rows: Iterable[TrackRow]) -> None:
    write_rows(Path(path), TRACK_COLUMNS, (r.cells() for r in rows))


def write_fixes_csv(path: str | Path, rows: Iterable[FixRow]) -> None:
    write_rows(Path(path), FIXES_COLUMNS, (r.cells() for r in rows))


def write_timing_csv(path: str | Path, rows: Iterable[TimingRow]) -> None:
    write_rows(Path(path), TIMING_COLUMNS, (r.cells() for r in rows))


def _floats(path: Path, cells: list[list[str]], lines: list[int], columns: tuple[Column, ...], idx: range) -> F64:
    out = np.empty((len(cells), len(idx)), dtype=np.float64)
    for i, (row, line) in enumerate(zip(cells, lines, strict=True)):
        for j, c in enumerate(idx):
            out[i, j] = parse_float(row[c], path=path, line=line, field=columns[c + 1][0], allow_nan=True)
    return out


def _choice(path: Path, value: str, allowed: tuple[str, ...], line: int, field: str) -> str:
    if value not in allowed:
        raise CsvFormatError(f"must be one of {', '.join(allowed)}", path=path, line=line, field=field, value=value)
    return value


def _require_finite(path: Path, line: int, field: str, value: float) -> None:
    if not math.isfinite(value):
        raise CsvFormatError("must be finite on this row", path=path, line=line, field=field, value=value)


def read_track(path: str | Path) -> Track:
    """Read `track.csv`; a row with a position (source != none) must have finite
    lat, lon and covariance."""
    p = Path(path)
    stamps, cells, lines = read_rows(p, TRACK_COLUMNS, stream="track")
    nums = _floats(p, cells, lines, TRACK_COLUMNS, range(9))
    source = tuple(_choice(p, r[9], SOURCES, ln, "source") for r, ln in zip(cells, lines, strict=True))
    health = tuple(_choice(p, r[10], HEALTHS, ln, "health") for r, ln in zip(cells, lines, strict=True))
    for i, (src, line) in enumerate(zip(source, lines, strict=True)):
        if src != "none":
            for j, name in ((0, "lat"), (1, "lon"), (6, "cov_nn"), (7, "cov_ne"), (8, "cov_ee")):
                _require_finite(p, line, name, nums[i, j])
    return Track(
        np.asarray(stamps, dtype=np.int64), nums[:, 0], nums[:, 1], nums[:, 2], nums[:, 3:6], nums[:, 6:9],
        source, health,
    )


def read_fixes(path: str | Path) -> Fixes:
    """Read `fixes.csv`; an accepted fix must have a finite position and covariance."""
    p = Path(path)
    stamps, cells, lines = read_rows(p, FIXES_COLUMNS, stream="fixes")
    nums = _floats(p, cells, lines, FIXES_COLUMNS, range(5))
    accepted = np.zeros(len(stamps), dtype=bool)
    for i, (row, line) in enumerate(zip(cells, lines, strict=True)):
        flag = _choice(p, row[5], ("0", "1"), line, "accepted")
        accepted[i] = flag == "1"
        if accepted[i]:
            for j, name in enumerate(("lat", "lon", "cov_nn", "cov_ne", "cov_ee")):
                _require_finite(p, line, name, nums[i, j])
    reason = tuple(row[6] for row in cells)
    return Fixes(np.asarray(stamps, dtype=np.int64), nums[:, 0], nums[:, 1], nums[:, 2:5], accepted, reason)


def read_timing(path: str | Path) -> Timing:
    p = Path(path)
    stamps, cells, lines = read_rows(p, TIMING_COLUMNS, stream="timing")
    nums = _floats(p, cells, lines, TIMING_COLUMNS, range(1))
    return Timing(np.asarray(stamps, dtype=np.int64), nums[:, 0])


def read_estimates(out_dir: str | Path) -> Estimates:
    """Read track.csv, fixes.csv and timing.csv from a localizer's out dir."""
    d = Path(out_dir)
    return Estimates(read_track(d / TRACK_CSV), read_fixes(d / FIXES_CSV), read_timing(d / TIMING_CSV))


class EstimateWriter:
    """Streams the three output files into `out_dir` as the localizer runs
    (each row is flushed so a crash keeps everything written so far)."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[str]] = {}
        self._last: dict[str, int] = {}
        for name, columns in ((TRACK_CSV, TRACK_COLUMNS), (FIXES_CSV, FIXES_COLUMNS), (TIMING_CSV, TIMING_COLUMNS)):
            f = open(self.out_dir / name, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            f.write(header_line(columns) + "\n")
            self._files[name] = f

    def _write(self, name: str, t_ns: int, cells: list[object]) -> None:
        last = self._last.get(name)
        if last is not None and t_ns <= last:
            raise CsvFormatError(
                f"timestamp {t_ns} is not after the previous row's ({last})", path=self.out_dir / name,
                field="timestamp", value=t_ns,
            )
        self._last[name] = t_ns
        f = self._files[name]
        f.write(format_row(cells) + "\n")
        f.flush()

    def track(self, row: TrackRow) -> None:
        _choice(self.out_dir / TRACK_CSV, row.source, SOURCES, 0, "source")
        _choice(self.out_dir / TRACK_CSV, row.health, HEALTHS, 0, "health")
        self._write(TRACK_CSV, int(row.t_ns), row.cells())

    def fix(self, row: FixRow) -> None:
        self._write(FIXES_CSV, int(row.t_ns), row.cells())

    def timing(self, t_ns: int, latency_ms: float) -> None:
        self._write(TIMING_CSV, int(t_ns), TimingRow(t_ns, latency_ms).cells())

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self) -> EstimateWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
