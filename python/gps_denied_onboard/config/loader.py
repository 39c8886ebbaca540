"""YAML -> frozen dataclasses, with errors that say exactly what is wrong and where.

Unknown keys are not an error (a newer config on an older binary must still
fly): each one is logged as a warning and kept in `GdnConfig.unknown_keys`, so
it also appears in the snapshot recorded in the FDR header.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gps_denied_onboard.config.errors import ConfigFileError, ConfigValueError
from gps_denied_onboard.logging import get_logger

T = TypeVar("T")
_log = get_logger("config")


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) if a is not type(None) else "null" for a in typing.get_args(tp))
    return str(tp)


def _convert(value: Any, tp: Any, source: str, path: str, unknown: dict[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, source, path, unknown)
            except ConfigValueError:
                continue
        raise ConfigValueError(source, path, value, _describe(tp))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigValueError(source, path, value, "a mapping")
        return _build(tp, value, source, path, unknown)  # type: ignore[arg-type]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigValueError(source, path, value, _describe(tp))
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigValueError(source, path, value, _describe(tp))
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigValueError(source, path, value, "a finite number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigValueError(source, path, value, _describe(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigValueError(source, path, value, _describe(tp)) from None
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigValueError(source, path, value, _describe(tp))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigValueError(source, path, value, "a list")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], source, f"{path}[{i}]", unknown) for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigValueError(source, path, value, f"a list of {len(args)} items")
        return tuple(_convert(v, a, source, f"{path}[{i}]", unknown) for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigValueError(source, path, value, "a mapping")
        return dict(value)
    if tp is Any:
        return value
    raise TypeError(f"config schema uses an unsupported type {tp!r} at {path}")


def _build(cls: type[T], data: Mapping[str, Any], source: str, prefix: str, unknown: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            _log.warning("unknown config key kept", kind="config_unknown_key", source=source, key=path)
            unknown[path] = value
            continue
        kwargs[key] = _convert(value, hints[key], source, path, unknown)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        missing = [n for n, f in fields.items() if n not in kwargs and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]  # type: ignore[misc]
        if missing:
            raise ConfigValueError(source, f"{prefix}.{missing[0]}" if prefix else missing[0], None, "a value (required)") from exc
        raise ConfigValueError(source, prefix or "<root>", dict(data), str(exc)) from exc
    return obj


def build_config(cls: type[T], data: Mapping[str, Any] | None, source: str = "<config>") -> tuple[T, dict[str, Any]]:
    """Build dataclass `cls` from a mapping. Returns (config, unknown_keys)."""
    unknown: dict[str, Any] = {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigFileError(source, f"top level must be a mapping, got {type(data).__name__}")
    return _build(cls, data, source, "", unknown), unknown


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (an empty file is an empty mapping)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(source, f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigFileError(source, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(source, f"top level must be a mapping, got {type(data).__name__}")
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of a config or any plain value."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def snapshot_hash(value: Any) -> str:
    """SHA-256 hex of `canonical_json(value)`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
