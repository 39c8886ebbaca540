"""Configuration: YAML files -> frozen dataclasses, one section per component.

    cfg = load_config("airborne.yaml")
    cfg.fdr.segment_bytes
    snapshot, digest = config_snapshot(cfg)   # recorded in the FDR flight header
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gps_denied_onboard.config.errors import ConfigError, ConfigFileError, ConfigValueError
from gps_denied_onboard.config.loader import build_config, canonical_json, load_yaml_mapping, snapshot_hash
from gps_denied_onboard.config.schema import CONFIG_SCHEMA_VERSION, GdnConfig
from gps_denied_onboard.config.sections.fdr import FdrConfig
from gps_denied_onboard.config.sections.runtime import RuntimeConfig

__all__ = [
    "CONFIG_SCHEMA_VERSION",
    "ConfigError",
    "ConfigFileError",
    "ConfigValueError",
    "FdrConfig",
    "GdnConfig",
    "RuntimeConfig",
    "canonical_json",
    "config_from_mapping",
    "config_snapshot",
    "load_config",
]


def config_from_mapping(data: Mapping[str, Any] | None, source: str = "<config>") -> GdnConfig:
    """Build a GdnConfig from an already-parsed mapping (`source` names it in errors)."""
    cfg, unknown = build_config(GdnConfig, data, source)
    if cfg.schema_version > CONFIG_SCHEMA_VERSION:
        raise ConfigValueError(source, "schema_version", cfg.schema_version, f"<= {CONFIG_SCHEMA_VERSION}")
    return dataclasses.replace(cfg, unknown_keys=unknown)


def load_config(path: str | Path | None) -> GdnConfig:
    """Load a YAML config file; `None` gives the defaults."""
    if path is None:
        return GdnConfig()
    return config_from_mapping(load_yaml_mapping(path), str(path))


def config_snapshot(cfg: GdnConfig) -> tuple[str, str]:
    """(canonical JSON, SHA-256 hex) of the whole config including unknown keys."""
    text = canonical_json(cfg)
    return text, snapshot_hash(cfg)
