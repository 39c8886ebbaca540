"""The flight-state gate: upload is possible only when the vehicle is confirmed on the ground.

`FlightStateGate.confirm_on_ground()` asks its `FlightStateSource` exactly once per
call and fails closed: anything but ON_GROUND, and any error of the source, refuses.

Sources:
- `LandedStateSource` adapts the autopilot link's landed state (MAVLink
  `EXTENDED_SYS_STATE.landed_state`, `MAV_LANDED_STATE_*`) read through a callable
  that returns the latest `LandedStateSnapshot`; a snapshot older than `max_age_s`
  is UNKNOWN (a dead link says nothing about the vehicle).
- `ScriptedFlightStateSource` replays a fixed sequence of states (tests, rehearsals).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c11_tile_manager.errors import FlightStateNotOnGroundError, TileManagerError
from gps_denied_onboard.logging import get_logger

_log = get_logger("c11_tile_manager")


class FlightStateSignal(str, Enum):  # noqa: UP042  (the contract names str+Enum, DESIGN §3)
    """The vehicle's flight state as far as the ground station can tell."""

    UNKNOWN = "UNKNOWN"
    ON_GROUND = "ON_GROUND"
    TAKING_OFF = "TAKING_OFF"
    IN_FLIGHT = "IN_FLIGHT"
    LANDING = "LANDING"


@runtime_checkable
class FlightStateSource(Protocol):
    """Where the gate gets the vehicle's state from. May raise; the gate fails closed."""

    def current_state(self) -> FlightStateSignal:
        """The vehicle's state now."""
        ...


# MAVLink MAV_LANDED_STATE: UNDEFINED=0, ON_GROUND=1, IN_AIR=2, TAKEOFF=3, LANDING=4.
MAV_LANDED_STATE_TO_SIGNAL: dict[int, FlightStateSignal] = {
    0: FlightStateSignal.UNKNOWN,
    1: FlightStateSignal.ON_GROUND,
    2: FlightStateSignal.IN_FLIGHT,
    3: FlightStateSignal.TAKING_OFF,
    4: FlightStateSignal.LANDING,
}


class FlightStateSourceError(TileManagerError):
    """A flight-state source could not produce a state (no link, stale data, bad value)."""


@dataclass(frozen=True)
class LandedStateSnapshot:
    """The autopilot's latest landed state (`MAV_LANDED_STATE_*` code) and when it was
    received, on the monotonic clock of the `Clock` given to `LandedStateSource`."""

    landed_state: int
    received_monotonic_ns: int


class LandedStateSource:
    """A `FlightStateSource` over the autopilot link's landed state.

    `read_snapshot` returns the latest snapshot, or None when none was received
    yet. A snapshot older than `max_age_s` or with a code MAVLink does not define
    raises `FlightStateSourceError` (the gate turns that into UNKNOWN).
    """

    def __init__(
        self,
        read_snapshot: Callable[[], LandedStateSnapshot | None],
        *,
        max_age_s: float = 3.0,
        clock: Clock | None = None,
    ) -> None:
        if not max_age_s > 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s!r}")
        self._read = read_snapshot
        self._max_age_ns = int(max_age_s * 1e9)
        self._clock = clock or WallClock()

    def current_state(self) -> FlightStateSignal:
        snapshot = self._read()
        if snapshot is None:
            raise FlightStateSourceError("no landed state received from the autopilot yet")
        age_ns = self._clock.monotonic_ns() - snapshot.received_monotonic_ns
        if age_ns > self._max_age_ns:
            raise FlightStateSourceError(
                f"landed state is stale: {age_ns / 1e9:.1f} s old (max {self._max_age_ns / 1e9:.1f} s)"
            )
        try:
            return MAV_LANDED_STATE_TO_SIGNAL[snapshot.landed_state]
        except KeyError:
            raise FlightStateSourceError(
                f"landed_state={snapshot.landed_state!r} is not a MAV_LANDED_STATE code (0..4)"
            ) from None


class ScriptedFlightStateSource:
    """A `FlightStateSource` that returns the given states in order, then repeats the
    last one; an exception instance in the script is raised instead. Counts calls."""

    def __init__(self, states: Iterable[FlightStateSignal | BaseException]) -> None:
        self._states = list(states)
        if not self._states:
            raise ValueError("ScriptedFlightStateSource needs at least one state")
        self._index = 0
        self._lock = threading.Lock()
        self.calls = 0

    def current_state(self) -> FlightStateSignal:
        with self._lock:
            self.calls += 1
            item = self._states[min(self._index, len(self._states) - 1)]
            self._index += 1
        if isinstance(item, BaseException):
            raise item
        return item


class FlightStateGate:
    """Fail-closed check that the vehicle is on the ground before any upload."""

    def __init__(self, source: FlightStateSource) -> None:
        self._source = source

    def confirm_on_ground(self) -> None:
        """Return only when the source says ON_GROUND; raise `FlightStateNotOnGroundError`
        otherwise. Exactly one source call per invocation. A source error is reported
        as UNKNOWN with the original exception on `__cause__`."""
        try:
            state = self._source.current_state()
        except Exception as exc:  # any failure of the source must refuse, never pass
            _log.error(
                "upload refused: flight state source failed",
                kind="c11.flight_state.refused",
                state=FlightStateSignal.UNKNOWN.value,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise FlightStateNotOnGroundError(FlightStateSignal.UNKNOWN, f"source failed: {exc}") from exc
        if not isinstance(state, FlightStateSignal):
            _log.error("upload refused: flight state source returned a non-state",
                       kind="c11.flight_state.refused", state=repr(state))
            raise FlightStateNotOnGroundError(FlightStateSignal.UNKNOWN, f"source returned {state!r}")
        if state is not FlightStateSignal.ON_GROUND:
            _log.error("upload refused: vehicle not on ground", kind="c11.flight_state.refused", state=state.value)
            raise FlightStateNotOnGroundError(state)
        _log.info("vehicle confirmed on ground", kind="c11.flight_state.on_ground", state=state.value)
