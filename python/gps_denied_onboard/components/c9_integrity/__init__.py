"""C9 integrity: fix gating, consistency checks, degraded-state detection, health, and
GNSS-vs-vision disagreement (spoofing) flagging."""

from gps_denied_onboard.components.c9_integrity.errors import IntegrityError
from gps_denied_onboard.components.c9_integrity.gates import (
    HealthMonitor,
    consistent,
    gate_registration,
    gnss_disagrees,
)
from gps_denied_onboard.components.c9_integrity.interface import (
    Degradation,
    GateDecision,
    Health,
    HealthReport,
    IntegrityConfig,
)

__all__ = [
    "Degradation",
    "GateDecision",
    "Health",
    "HealthMonitor",
    "HealthReport",
    "IntegrityConfig",
    "IntegrityError",
    "consistent",
    "gate_registration",
    "gnss_disagrees",
]
