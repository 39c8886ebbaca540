"""What the airborne localization pipeline puts out: the fused solution at a time
(`FusedOutput`), one frame's verdict (`FrameReport`), and the record sink it writes
registrations to (`RecordSink`). Kept apart from the pipeline so consumers (the
position output to the autopilot, replay, the runtime) depend on the messages only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol


class RecordSink(Protocol):
    """FDR-like sink (e.g. an `FdrClient`): must never block."""

    def enqueue(self, kind: str, payload: dict[str, Any]) -> object: ...


@dataclass(frozen=True)
class FusedOutput:
    """The fused navigation solution at `timestamp_ns` (what goes to the autopilot)."""

    timestamp_ns: int
    lat_deg: float
    lon_deg: float
    alt_msl_m: float
    vn_mps: float
    ve_mps: float
    vd_mps: float
    cov_nn: float
    cov_ne: float
    cov_ee: float
    source: str   # fix | vo | predict | none
    health: str   # ok | degraded | lost
    degradations: tuple[str, ...] = ()
    # horizontal velocity covariance (m²/s²); NaN before the filter holds a state
    cov_vnvn: float = float("nan")
    cov_vnve: float = float("nan")
    cov_veve: float = float("nan")

    @property
    def speed_sigma_mps(self) -> float | None:
        """1-sigma horizontal speed (the larger axis), None when unknown."""
        var = max(self.cov_vnvn, self.cov_veve)
        return math.sqrt(var) if math.isfinite(var) and var > 0 else None


@dataclass(frozen=True)
class FrameReport:
    """What one frame did: the registration attempt (if any) and its verdict."""

    timestamp_ns: int
    attempted: bool
    accepted: bool
    reason: str
    lat_deg: float = float("nan")
    lon_deg: float = float("nan")
    cov_nn: float = float("nan")
    cov_ne: float = float("nan")
    cov_ee: float = float("nan")
    mode: str = ""  # track | reloc
