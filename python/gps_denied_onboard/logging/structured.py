"""Structured log records: a `logging.Formatter` and a per-component adapter.

Contract (pinned by tests/contract/test_log_schema.py, schema LOG_SCHEMA_VERSION):
- `ts`: UTC ISO-8601 with microseconds; `level`: DEBUG|INFO|WARNING|ERROR|CRITICAL;
  `component`: the producing component; `kind`: a short machine-readable event
  name (default "message"); `msg`: one line (newlines collapsed to " | ");
  `kv`: an object of extra fields, values that JSON cannot hold are `repr()`ed;
  `frame` (optional): the camera frame timestamp (ns) the event concerns;
  `exc` (optional, errors): `{"type", "message", "traceback"}`.
- Fields appear in exactly that order; new optional fields are added at the end
  with a minor version bump.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any, TextIO

LOG_SCHEMA_VERSION = "1.0"
LOG_FIELD_ORDER = ("ts", "level", "component", "kind", "msg", "kv", "frame", "exc")
_ROOT_NAME = "gdn"


def _collapse(text: str) -> str:
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def format_record(record: logging.LogRecord) -> dict[str, Any]:
    """The structured form of a log record, fields in contract order."""
    ts = _dt.datetime.fromtimestamp(record.created, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out: dict[str, Any] = {
        "ts": ts,
        "level": record.levelname,
        "component": getattr(record, "gdn_component", None) or record.name.removeprefix(_ROOT_NAME + "."),
        "kind": getattr(record, "gdn_kind", None) or "message",
        "msg": _collapse(record.getMessage()),
        "kv": _jsonable(getattr(record, "gdn_kv", None) or {}),
    }
    frame = getattr(record, "gdn_frame", None)
    if frame is not None:
        out["frame"] = int(frame)
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc_value, exc_tb = record.exc_info
        out["exc"] = {
            "type": exc_type.__name__,
            "message": _collapse(str(exc_value)),
            "traceback": "".join(traceback.format_exception(exc_type, exc_value, exc_tb)),
        }
    return out


class JsonLogFormatter(logging.Formatter):
    """Formats each record as one JSON line per the contract above."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(format_record(record), ensure_ascii=False, allow_nan=False, default=repr)


class ComponentLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger bound to one component.

    `log.warning("fix refused", kind="fix_refused", frame=ts_ns, inliers=12)`: keyword
    arguments other than `kind`, `frame`, `exc_info` and `stack_info` go to `kv`.
    """

    def __init__(self, component: str) -> None:
        super().__init__(logging.getLogger(f"{_ROOT_NAME}.{component}"), {})
        self.component = component

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kind = kwargs.pop("kind", None)
        frame = kwargs.pop("frame", None)
        passthrough = {k: kwargs.pop(k) for k in ("exc_info", "stack_info", "stacklevel") if k in kwargs}
        extra = dict(kwargs.pop("extra", None) or {})
        kv = dict(kwargs)
        kwargs.clear()
        kwargs.update(passthrough)
        extra.update(gdn_component=self.component, gdn_kind=kind, gdn_frame=frame, gdn_kv=kv)
        kwargs["extra"] = extra
        return msg, kwargs


def get_logger(component: str) -> ComponentLogger:
    """The structured logger for `component` (e.g. "c7_geo_registration")."""
    if not component:
        raise ValueError("component must be a non-empty name")
    return ComponentLogger(component)


def configure_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send the project's structured records to `stream` (stderr) as JSON lines.

    Called by the composition roots only (never by library code). Idempotent: a
    second call replaces the previous handler's level and stream.
    """
    root = logging.getLogger(_ROOT_NAME)
    for handler in list(root.handlers):
        if getattr(handler, "_gdn_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    handler._gdn_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
