"""C12 simulator (operator only): synthetic worlds and flights for rehearsal, tests and benchmarks."""

from gps_denied_onboard.components.c12_sim.errors import (
    BenchError,
    FlightPlanError,
    LocalizerUnavailableError,
    PairError,
    RasterError,
    SimError,
)
from gps_denied_onboard.components.c12_sim.interface import *  # noqa: F403 - the interface is the surface
from gps_denied_onboard.components.c12_sim.interface import __all__ as _interface_all

__all__ = [
    "BenchError",
    "FlightPlanError",
    "LocalizerUnavailableError",
    "PairError",
    "RasterError",
    "SimError",
    *_interface_all,
]
