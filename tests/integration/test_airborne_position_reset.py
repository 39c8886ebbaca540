"""When the runtime sends the autopilot a one-off position reset
(MAV_CMD_EXTERNAL_POSITION_ESTIMATE): the policy on its own (scripted health
sequences, hypothesis), then the runtime with a real link and the autopilot emulator
counting what arrives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard.components.c2_fc_link import OutputHealth
from gps_denied_onboard.runtime_root.airborne_position_reset import (
    PositionResetPolicy,
    PositionResetSettings,
    ResetAction,
)

S = 1_000_000_000
OK, DEG, LOST = OutputHealth.OK, OutputHealth.DEGRADED, OutputHealth.LOST


def run(policy: PositionResetPolicy, ticks: list[tuple[float, OutputHealth]]) -> list[tuple[float, ResetAction]]:
    return [(t, a) for t, h in ticks if (a := policy.decide(int(t * S), h)) is not ResetAction.NONE]


def test_a_request_is_served_at_the_first_healthy_output_and_only_once() -> None:
    policy = PositionResetPolicy(PositionResetSettings())
    policy.request(int(1.0 * S))
    policy.request(int(1.5 * S))  # the same pending request
    got = run(policy, [(1.0, LOST), (2.0, DEG), (3.0, OK), (4.0, OK)])
    assert got == [(3.0, ResetAction.SEND_REQUESTED)]
    assert not policy.pending and policy.sent == 1


def test_a_request_never_sends_an_untrusted_position_and_expires() -> None:
    policy = PositionResetPolicy(PositionResetSettings(request_timeout_s=5.0))
    policy.request(0)
    got = run(policy, [(1.0, LOST), (4.0, DEG), (5.5, LOST), (6.0, OK)])
    assert got == [(5.5, ResetAction.REQUEST_EXPIRED)]  # not sent at 6.0: that request is gone
    assert policy.expired == 1 and policy.sent == 0


def test_recovery_reset_only_after_a_long_enough_loss() -> None:
    policy = PositionResetPolicy(PositionResetSettings(reset_after_lost_s=10.0))
    short = run(policy, [(0.0, OK), (1.0, LOST), (5.0, DEG), (9.0, OK)])  # lost 8 s
    assert short == []
    long = run(policy, [(20.0, LOST), (25.0, DEG), (31.0, DEG), (32.0, OK), (33.0, OK)])  # lost 12 s
    assert long == [(32.0, ResetAction.SEND_RECOVERED)]


def test_recovery_reset_is_off_by_default() -> None:
    policy = PositionResetPolicy(PositionResetSettings())
    assert run(policy, [(0.0, LOST), (100.0, OK)]) == []


@pytest.mark.parametrize("kwargs", [{"request_timeout_s": 0.0}, {"reset_after_lost_s": -1.0}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PositionResetSettings(**kwargs)


ticks = st.lists(st.tuples(st.floats(0.01, 5.0), st.sampled_from([OK, DEG, LOST]), st.booleans()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(seq=ticks, after=st.sampled_from([0.0, 3.0, 10.0]), timeout=st.sampled_from([1.0, 30.0]))
def test_policy_invariants(seq: list[tuple[float, OutputHealth, bool]], after: float, timeout: float) -> None:
    policy = PositionResetPolicy(PositionResetSettings(reset_after_lost_s=after, request_timeout_s=timeout))
    t = 0.0
    requests = served = 0
    lost_since: float | None = None
    for dt, health, ask in seq:
        t += dt
        if ask and not policy.pending:
            requests += 1
        if ask:
            policy.request(int(t * S))
        if health is LOST and lost_since is None:
            lost_since = t
        action = policy.decide(int(t * S), health)
        if action in (ResetAction.SEND_REQUESTED, ResetAction.SEND_RECOVERED):
            assert health is OK  # a reset only ever carries a healthy position
        if action is ResetAction.SEND_RECOVERED:
            assert after > 0 and lost_since is not None and t - lost_since >= after - 1e-9
        if action in (ResetAction.SEND_REQUESTED, ResetAction.REQUEST_EXPIRED):
            served += 1
        if health is OK:
            lost_since = None
            assert not policy.pending  # an OK tick always serves a pending request
    assert served + int(policy.pending) == requests  # every request is served, expired or still pending, once
