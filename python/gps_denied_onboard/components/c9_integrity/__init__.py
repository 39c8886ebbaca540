"""C9 integrity: fix gating, consistency checks, degraded-state detection, health,
GNSS-vs-vision disagreement (spoofing) flagging, and the multi-frame first-fix consensus."""

from gps_denied_onboard.components.c9_integrity.consensus import (
    ConsensusConfig,
    ConsensusDecision,
    ConsensusView,
    FirstFixConsensus,
    pair_agreement,
)
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
    "ConsensusConfig",
    "ConsensusDecision",
    "ConsensusView",
    "Degradation",
    "FirstFixConsensus",
    "GateDecision",
    "Health",
    "HealthMonitor",
    "HealthReport",
    "IntegrityConfig",
    "IntegrityError",
    "consistent",
    "gate_registration",
    "gnss_disagrees",
    "pair_agreement",
]
