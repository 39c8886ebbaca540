"""Frame codec of FDR segment files (byte layout: docs/fdr-format.md).

Every frame:

    offset size field
    0      2    magic     b"\\xfd\\xa7"
    2      1    type      b"G" segment start | b"H" flight header | b"R" record |
                          b"S" sync | b"E" segment end | b"F" flight footer
    3      1    version   FRAME_VERSION
    4      4    length    body length in bytes (u32 LE)
    8      4    rec_no    records framed in this segment before this frame (u32 LE)
    12     4    crc32     CRC-32 of bytes 0..11 followed by the body (u32 LE)
    16     ...  body      ASCII JSON (every byte < 0x80, so the magic never occurs in a body)

A reader trusts nothing before the CRC matches; after damage it scans forward
for the next magic whose frame checks, and `rec_no` tells it exactly how many
records the damaged span held.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

import orjson

c_make_encoder: Any
try:
    from _json import make_encoder as c_make_encoder
except ImportError:  # pragma: no cover - CPython always has it
    c_make_encoder = None

MAGIC = b"\xfd\xa7"
FRAME_VERSION = 1
HEADER = struct.Struct("<2sccIII")
HEADER_SIZE = HEADER.size  # 16
PREFIX = struct.Struct("<2sccII")
MAX_BODY = 64 * 1024 * 1024

T_SEGMENT = b"G"
T_HEADER = b"H"
T_RECORD = b"R"
T_SYNC = b"S"
T_SEGMENT_END = b"E"
T_FOOTER = b"F"
FRAME_TYPES = frozenset({T_SEGMENT, T_HEADER, T_RECORD, T_SYNC, T_SEGMENT_END, T_FOOTER})
VERSION_BYTE = bytes([FRAME_VERSION])

SEGMENT_FORMAT = "gdn-fdr-segment/1"


def encode_frame(frame_type: bytes, body: bytes, rec_no: int) -> bytes:
    """One framed frame (header + body)."""
    prefix = PREFIX.pack(MAGIC, frame_type, VERSION_BYTE, len(body), rec_no & 0xFFFFFFFF)
    crc = zlib.crc32(body, zlib.crc32(prefix))
    return prefix + crc.to_bytes(4, "little") + body


def _sanitize(value: Any) -> Any:
    """Replace non-finite floats by None (strict JSON) and stringify what JSON cannot hold."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        try:
            return _sanitize(value.tolist())
        except (TypeError, ValueError):
            pass
    return repr(value)


def _make_fast_encoder() -> Callable[[Any], str]:
    """Strict compact ASCII JSON. Calls the C encoder directly when it exists: the
    `json.dumps` wrapper costs about a microsecond per record, a third of the writer's budget."""
    if c_make_encoder is not None:
        # (markers, default, encoder, indent, key_sep, item_sep, sort_keys, skipkeys, allow_nan)
        enc = c_make_encoder(None, _raise_type, encode_basestring_ascii, None, ":", ",", False, False, False)
        join = "".join
        return lambda obj: join(enc(obj, 0))
    return json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def _raise_type(obj: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


fast_json = _make_fast_encoder()


def json_text(obj: Any, _enc: Callable[[Any], str] = fast_json) -> str:
    """Strict ASCII JSON text of `obj`; never raises (non-finite floats -> null, others -> repr)."""
    try:
        return _enc(obj)
    except (TypeError, ValueError, OverflowError):
        return json.dumps(_sanitize(obj), separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=repr)


# Plain JSON types only: dataclasses, datetimes and subclasses of str/int/dict/list go
# to the stdlib path below, so they are written exactly as before orjson was used.
ORJSON_OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATACLASS
                  | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS)


def dumps_body(obj: Any, _dumps: Callable[..., bytes] = orjson.dumps, _options: int = ORJSON_OPTIONS) -> bytes:
    """Strict compact ASCII JSON bytes of `obj`; never raises.

    orjson does the common case (about 4x the stdlib's C encoder: it is most of the
    writer's per-record cost). What it refuses (a type it does not know, an integer
    beyond 64 bits) or writes as non-ASCII (UTF-8 text) goes through `json_text`,
    which escapes to ASCII, writes non-finite floats as null and anything else as its
    repr. orjson writes NaN/Infinity as null too, so both paths agree on every value."""
    try:
        out = _dumps(obj, option=_options)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json_text(obj).encode("ascii")
    return out if out.isascii() else json_text(obj).encode("ascii")
