"""The top-level configuration: one frozen dataclass per section.

A component adds its section as a module under `config/sections/` and one field
here; the loader needs no other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gps_denied_onboard.config.sections.airborne import AirborneConfig
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig
from gps_denied_onboard.config.sections.fdr import FdrConfig
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.config.sections.runtime import RuntimeConfig

CONFIG_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class GdnConfig:
    """Everything a binary is configured with."""

    schema_version: int = CONFIG_SCHEMA_VERSION
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    fdr: FdrConfig = field(default_factory=FdrConfig)
    localization: LocalizationConfig = field(default_factory=LocalizationConfig)
    fc_link: FcLinkConfig = field(default_factory=FcLinkConfig)
    airborne: AirborneConfig = field(default_factory=AirborneConfig)
    # Keys this version does not know, kept verbatim (dotted path -> value).
    unknown_keys: dict[str, Any] = field(default_factory=dict, compare=False)
