"""When to send the autopilot a one-off position reset (MAV_CMD_EXTERNAL_POSITION_ESTIMATE).

The regular position stream (GPS_INPUT, GLOBAL_POSITION_SENSOR, ODOMETRY) is what
the autopilot's EKF fuses. A reset is for the other case: the autopilot has been
dead-reckoning on its own for a while (our output was LOST, or it dropped our
source) and its position may be far off, so a jump back through the innovation gate
would be refused. Two things ask for one:

- a request: the operator (SIGUSR1 to the flight process, e.g.
  `systemctl kill -s USR1 gdn-airborne`) or code (`AirborneRuntime.request_position_reset`).
  It is served at the first healthy output; if none comes within
  `request_timeout_s` it expires, and that is reported (never a reset from a
  position we do not trust);
- recovery, when configured (`fc_link.reset_after_lost_s` > 0): the first healthy
  output after the output was LOST for at least that long.

Pure logic on the flight clock; the runtime calls `decide` once per output tick.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gps_denied_onboard.components.c2_fc_link import OutputHealth


class ResetAction(enum.StrEnum):
    NONE = "none"
    SEND_REQUESTED = "request"  # send now: an operator/code request is served
    SEND_RECOVERED = "recovery"  # send now: healthy again after a long loss
    REQUEST_EXPIRED = "request_expired"  # no healthy output came in time: report, do not send


@dataclass(frozen=True)
class PositionResetSettings:
    """`reset_after_lost_s` <= 0 turns the automatic reset off; requests always work."""

    reset_after_lost_s: float = 0.0
    request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.request_timeout_s > 0:
            raise ValueError(f"position reset request_timeout_s must be > 0, got {self.request_timeout_s}")
        if self.reset_after_lost_s < 0:
            raise ValueError(f"fc_link.reset_after_lost_s must be >= 0 (0 = off), got {self.reset_after_lost_s}")


class PositionResetPolicy:
    """Decides, tick by tick, whether this output also goes out as a reset.

    Not thread-safe by design except `request`: the output thread owns `decide`;
    `request` only stores a timestamp (one attribute write, atomic in CPython) so a
    signal handler or another thread may call it.
    """

    def __init__(self, settings: PositionResetSettings) -> None:
        self._s = settings
        self._requested_ns: int | None = None
        self._lost_since_ns: int | None = None
        self.sent = 0
        self.expired = 0

    def request(self, now_ns: int) -> None:
        """Ask for a reset at the next healthy output (a second request before then is the same one)."""
        if self._requested_ns is None:
            self._requested_ns = now_ns

    @property
    def pending(self) -> bool:
        return self._requested_ns is not None

    def decide(self, now_ns: int, health: OutputHealth) -> ResetAction:
        """What to do with the output of this tick, given its health."""
        if health is OutputHealth.LOST:
            if self._lost_since_ns is None:
                self._lost_since_ns = now_ns
        requested = self._requested_ns
        if health is OutputHealth.OK:
            lost_since, self._lost_since_ns = self._lost_since_ns, None
            if requested is not None:
                self._requested_ns = None
                self.sent += 1
                return ResetAction.SEND_REQUESTED
            after = self._s.reset_after_lost_s
            if after > 0 and lost_since is not None and (now_ns - lost_since) / 1e9 >= after:
                self.sent += 1
                return ResetAction.SEND_RECOVERED
            return ResetAction.NONE
        if requested is not None and (now_ns - requested) / 1e9 > self._s.request_timeout_s:
            self._requested_ns = None
            self.expired += 1
            return ResetAction.REQUEST_EXPIRED
        return ResetAction.NONE
