"""C12 simulator (operator only): synthetic worlds and flights for rehearsal, tests and benchmarks."""

from gps_denied_onboard.components.c12_sim.errors import SimError

__all__ = ["SimError"]
