"""Autopilot emulator (operator/test side, never in the airborne binary): a MAVLink
autopilot on UDP loopback that replays a flight's telemetry at its real rates,
receives the companion's position messages and judges them (rates, fields,
timestamps, an EKF3-style innovation gate against the truth), with fault modes.

    emu = AutopilotEmulator(FlightTrack.from_dataset(read_flight(path)))
    t0 = emu.start()                     # dataset t0 <-> monotonic t0
    ... run the airborne pipeline with fc_link.url = emu.url ...
    report = emu.stop(); report.acceptance_ratio()

`EmulatorProcess` runs the same emulator in a child process (its per-message
bookkeeping then stays out of the flight process's memory figures).
"""

from gps_denied_onboard.autopilot_emulator.emulator import AutopilotEmulator, EmulatorConfig, FaultPlan
from gps_denied_onboard.autopilot_emulator.errors import EmulatorConfigError, EmulatorError
from gps_denied_onboard.autopilot_emulator.gate import (
    GateConfig,
    GateResult,
    Truth,
    field_problems,
    innovation_gate,
    ne_error_m,
)
from gps_denied_onboard.autopilot_emulator.process import EmulatorProcess
from gps_denied_onboard.autopilot_emulator.report import EmulatorReport, PositionJudgement, percentile
from gps_denied_onboard.autopilot_emulator.track import FlightTrack, straight_line_track

__all__ = [
    "AutopilotEmulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "EmulatorError",
    "EmulatorProcess",
    "EmulatorReport",
    "FaultPlan",
    "FlightTrack",
    "GateConfig",
    "GateResult",
    "PositionJudgement",
    "Truth",
    "field_problems",
    "innovation_gate",
    "ne_error_m",
    "percentile",
    "straight_line_track",
]
