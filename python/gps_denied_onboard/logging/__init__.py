"""Structured JSON logging for every component.

Each record is one JSON line with a stable field order
(`ts, level, component, kind, msg, kv[, frame][, exc]`, schema `LOG_SCHEMA_VERSION`).
Library code logs through `get_logger(component)` and never prints.
"""

from gps_denied_onboard.logging.structured import (
    LOG_FIELD_ORDER,
    LOG_SCHEMA_VERSION,
    ComponentLogger,
    JsonLogFormatter,
    configure_logging,
    format_record,
    get_logger,
)

__all__ = [
    "LOG_FIELD_ORDER",
    "LOG_SCHEMA_VERSION",
    "ComponentLogger",
    "JsonLogFormatter",
    "configure_logging",
    "format_record",
    "get_logger",
]
