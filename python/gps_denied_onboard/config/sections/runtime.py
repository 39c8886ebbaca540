"""`runtime:` — process-wide settings of a binary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RuntimeConfig:
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    output_rate_hz: float = 10.0
    vehicle: Literal["multirotor", "fixed_wing"] = "multirotor"

    def __post_init__(self) -> None:
        if not 1.0 <= self.output_rate_hz <= 100.0:
            raise ValueError(f"runtime.output_rate_hz must be in [1, 100], got {self.output_rate_hz}")
