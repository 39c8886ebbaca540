"""FlightStateGate: upload only when the vehicle is confirmed on the ground; fails closed."""

from __future__ import annotations

import json
import logging

import pytest

from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c11_tile_manager import (
    FlightStateGate,
    FlightStateNotOnGroundError,
    FlightStateSignal,
    LandedStateSnapshot,
    LandedStateSource,
    ScriptedFlightStateSource,
)
from gps_denied_onboard.logging import format_record


def _gdn_records(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(json.dumps(format_record(r))) for r in caplog.records if r.name.startswith("gdn.")]


def test_on_ground_passes_with_one_source_call_and_info_log(caplog: pytest.LogCaptureFixture) -> None:
    source = ScriptedFlightStateSource([FlightStateSignal.ON_GROUND])
    caplog.set_level(logging.INFO, logger="gdn")
    FlightStateGate(source).confirm_on_ground()
    assert source.calls == 1
    [record] = _gdn_records(caplog)
    assert record["level"] == "INFO" and record["kv"]["state"] == "ON_GROUND"


@pytest.mark.parametrize(
    "state",
    [FlightStateSignal.UNKNOWN, FlightStateSignal.IN_FLIGHT, FlightStateSignal.TAKING_OFF, FlightStateSignal.LANDING],
)
def test_upload_in_flight_is_refused_for_every_non_ground_state(state, caplog: pytest.LogCaptureFixture) -> None:
    source = ScriptedFlightStateSource([state, FlightStateSignal.ON_GROUND])
    caplog.set_level(logging.INFO, logger="gdn")
    with pytest.raises(FlightStateNotOnGroundError) as err:
        FlightStateGate(source).confirm_on_ground()
    assert err.value.state is state
    assert source.calls == 1  # no second look that could turn a refusal into a pass
    [record] = _gdn_records(caplog)
    assert record["level"] == "ERROR" and record["kv"]["state"] == state.value


def test_source_failure_fails_closed_as_unknown_with_cause(caplog: pytest.LogCaptureFixture) -> None:
    boom = ConnectionError("autopilot link down")
    source = ScriptedFlightStateSource([boom])
    caplog.set_level(logging.INFO, logger="gdn")
    with pytest.raises(FlightStateNotOnGroundError) as err:
        FlightStateGate(source).confirm_on_ground()
    assert err.value.state is FlightStateSignal.UNKNOWN
    assert err.value.__cause__ is boom
    assert source.calls == 1
    assert [r["level"] for r in _gdn_records(caplog)] == ["ERROR"]


def test_source_returning_a_non_state_fails_closed() -> None:
    class Liar:
        def current_state(self):  # a truthy string that merely looks like the answer
            return "ON_GROUND "

    with pytest.raises(FlightStateNotOnGroundError) as err:
        FlightStateGate(Liar()).confirm_on_ground()
    assert err.value.state is FlightStateSignal.UNKNOWN


def test_gate_is_checked_each_time_not_cached() -> None:
    source = ScriptedFlightStateSource([FlightStateSignal.ON_GROUND, FlightStateSignal.TAKING_OFF])
    gate = FlightStateGate(source)
    gate.confirm_on_ground()
    with pytest.raises(FlightStateNotOnGroundError):
        gate.confirm_on_ground()
    assert source.calls == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [(0, FlightStateSignal.UNKNOWN), (1, FlightStateSignal.ON_GROUND), (2, FlightStateSignal.IN_FLIGHT),
     (3, FlightStateSignal.TAKING_OFF), (4, FlightStateSignal.LANDING)],
)
def test_landed_state_source_maps_mavlink_codes(code: int, expected: FlightStateSignal) -> None:
    clock = FakeClock()
    source = LandedStateSource(lambda: LandedStateSnapshot(code, clock.monotonic_ns()), clock=clock)
    assert source.current_state() is expected


def test_stale_landed_state_from_a_dead_link_is_refused() -> None:
    clock = FakeClock()
    snapshot = LandedStateSnapshot(1, clock.monotonic_ns())
    gate = FlightStateGate(LandedStateSource(lambda: snapshot, max_age_s=2.0, clock=clock))
    gate.confirm_on_ground()
    clock.advance(2.5)
    with pytest.raises(FlightStateNotOnGroundError, match="stale") as err:
        gate.confirm_on_ground()
    assert err.value.state is FlightStateSignal.UNKNOWN


def test_no_landed_state_yet_or_undefined_code_is_refused() -> None:
    clock = FakeClock()
    with pytest.raises(FlightStateNotOnGroundError, match="no landed state"):
        FlightStateGate(LandedStateSource(lambda: None, clock=clock)).confirm_on_ground()
    bad = LandedStateSnapshot(9, clock.monotonic_ns())
    with pytest.raises(FlightStateNotOnGroundError, match="landed_state=9"):
        FlightStateGate(LandedStateSource(lambda: bad, clock=clock)).confirm_on_ground()
