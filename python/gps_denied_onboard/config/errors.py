"""Typed configuration errors."""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """Base class of configuration errors."""


class ConfigValueError(ConfigError):
    """A value in a config file is wrong. Names the file, the key path, the bad
    value and what was expected, e.g.
    ``airborne.yaml: fdr.segment_bytes = 'big': expected an integer``."""

    def __init__(self, source: str, key_path: str, value: Any, expected: str) -> None:
        super().__init__(f"{source}: {key_path} = {value!r}: expected {expected}")
        self.source = source
        self.key_path = key_path
        self.value = value
        self.expected = expected


class ConfigFileError(ConfigError):
    """The config file cannot be read or is not a YAML mapping."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
