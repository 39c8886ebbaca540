"""ASL-style CSV streams: one `#`-prefixed header line naming `name [unit]`
columns, then one row per sample with an integer nanosecond timestamp first.

Readers check the documented leading columns by name, ignore any extra trailing
columns (forward compatibility), and raise `CsvFormatError` /
`UnsortedTimestampsError` naming the file, line and column.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gps_denied_onboard.dataset.errors import CsvFormatError, MissingStreamError, UnsortedTimestampsError

Column = tuple[str, str]  # (name, unit); unit "" for none


def header_line(columns: Sequence[Column]) -> str:
    """`#timestamp [ns],lat [deg],...` for `columns` (the first must be the timestamp)."""
    parts = [f"{name} [{unit}]" if unit else name for name, unit in columns]
    return "#" + ",".join(parts)


def format_float(value: float) -> str:
    """Shortest text that reads back to the same float (deterministic, lossless)."""
    return repr(float(value))


def _column_name(text: str) -> str:
    name = text.strip()
    if "[" in name:
        name = name[: name.index("[")]
    return name.strip().lower()


def read_rows(path: Path, columns: Sequence[Column], *, stream: str) -> tuple[list[int], list[list[str]], list[int]]:
    """Read a CSV stream: (timestamps, raw cells of the documented columns after the
    timestamp, 1-based line numbers). Checks header names, row lengths and strictly
    increasing integer timestamps."""
    if not path.is_file():
        raise MissingStreamError(f"stream {stream!r} is missing", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvFormatError(f"cannot read stream {stream!r}: {exc}", path=path) from exc
    lines = text.splitlines()
    if not lines or not lines[0].startswith("#"):
        raise CsvFormatError(
            f"first line must be the '#'-prefixed header {header_line(columns)!r}",
            path=path, line=1, value=lines[0] if lines else "",
        )
    header = next(csv.reader([lines[0][1:]]))
    expected = [name.lower() for name, _ in columns]
    got = [_column_name(h) for h in header]
    if len(got) < len(expected):
        raise CsvFormatError(
            f"header has {len(got)} columns, expected at least {len(expected)}: {header_line(columns)!r}",
            path=path, line=1, value=lines[0],
        )
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            raise CsvFormatError(
                f"header column {i + 1} is {have!r}, expected {want!r} ({header_line(columns)!r})",
                path=path, line=1, field=want, value=header[i],
            )
    stamps: list[int] = []
    cells: list[list[str]] = []
    line_numbers: list[int] = []
    reader = csv.reader(io.StringIO("\n".join(lines[1:])))
    for offset, row in enumerate(reader):
        line_no = offset + 2
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(columns):
            raise CsvFormatError(
                f"row has {len(row)} values, expected at least {len(columns)}",
                path=path, line=line_no, value=",".join(row),
            )
        ts_text = row[0].strip()
        try:
            ts = int(ts_text)
        except ValueError:
            raise CsvFormatError(
                "timestamp is not an integer number of nanoseconds",
                path=path, line=line_no, field=columns[0][0], value=ts_text,
            ) from None
        if stamps and ts <= stamps[-1]:
            raise UnsortedTimestampsError(
                f"timestamp {ts} is not after the previous one ({stamps[-1]}, line {line_numbers[-1]})",
                path=path, line=line_no, field=columns[0][0], value=ts,
            )
        stamps.append(ts)
        cells.append([c.strip() for c in row[1 : len(columns)]])
        line_numbers.append(line_no)
    return stamps, cells, line_numbers


def parse_float(text: str, *, path: Path, line: int, field: str, allow_nan: bool = False) -> float:
    """A finite float from a CSV cell, or CsvFormatError naming the cell."""
    try:
        value = float(text)
    except ValueError:
        raise CsvFormatError("not a number", path=path, line=line, field=field, value=text) from None
    if not math.isfinite(value) and not (allow_nan and math.isnan(value)):
        raise CsvFormatError("not a finite number", path=path, line=line, field=field, value=text)
    return value


def read_numeric(path: Path, columns: Sequence[Column], *, stream: str) -> tuple[np.ndarray, np.ndarray]:
    """A CSV stream whose documented columns after the timestamp are all numeric:
    (int64 t_ns, float64 N x k values)."""
    stamps, cells, line_numbers = read_rows(path, columns, stream=stream)
    k = len(columns) - 1
    values = np.empty((len(stamps), k), dtype=np.float64)
    for i, (row, line_no) in enumerate(zip(cells, line_numbers, strict=True)):
        for j in range(k):
            values[i, j] = parse_float(row[j], path=path, line=line_no, field=columns[j + 1][0])
    return np.asarray(stamps, dtype=np.int64), values


def write_rows(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> None:
    """Write a header and rows (`int` timestamps, floats via `format_float`, text as is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header_line(columns) + "\n")
        for row in rows:
            f.write(format_row(row) + "\n")


def format_row(row: Sequence[object]) -> str:
    """One CSV line: ints verbatim, floats lossless, text quoted only when it must be."""
    out: list[str] = []
    for cell in row:
        if isinstance(cell, bool):
            out.append("1" if cell else "0")
        elif isinstance(cell, (int, np.integer)):
            out.append(str(int(cell)))
        elif isinstance(cell, (float, np.floating)):
            out.append(format_float(float(cell)))
        else:
            text = str(cell)
            if any(ch in text for ch in ',"\n\r'):
                text = '"' + text.replace('"', '""') + '"'
            out.append(text)
    return ",".join(out)


def write_numeric(path: Path, columns: Sequence[Column], t_ns: Sequence[int] | np.ndarray, values: np.ndarray) -> None:
    """Write a numeric stream (t_ns int64, values N x k float64)."""
    t = np.asarray(t_ns, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64).reshape(t.shape[0], -1)
    write_rows(path, columns, ([int(ts), *(float(x) for x in row)] for ts, row in zip(t, v, strict=True)))
