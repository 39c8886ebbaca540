"""Horizontal constant-velocity Kalman filter with delayed-measurement handling.

State x = [north, east, vn, ve] in a local ENU frame's metres. Measurements:
absolute position fixes (with their covariance, Mahalanobis-gated) and velocities
(from visual odometry). A measurement stamped earlier than the newest one already
fused is applied at its own time and everything after it is re-fused (the filter
keeps a short history of measurements and of the state before each), so a fix from
a frame 200 ms old corrects the past and is carried to now.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c5_state.covariance import check_cov_2x2, deficit_to_floor
from gps_denied_onboard.components.c5_state.errors import MeasurementError
from gps_denied_onboard.components.c5_state.interface import FilterConfig, FilterEstimate, UpdateOutcome

F64 = npt.NDArray[np.float64]
_H_POS = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
_H_VEL = np.array([[0, 0, 1.0, 0], [0, 0, 0, 1.0]])


@dataclass(frozen=True)
class _Meas:
    t_ns: int
    kind: str  # "pos" | "vel"
    z: F64
    R: F64
    gate: bool


class HorizontalEkf:
    """See module docstring. Not thread-safe: one owner drives it."""

    def __init__(self, config: FilterConfig | None = None) -> None:
        self.config = config or FilterConfig()
        self._x: F64 | None = None
        self._P: F64 | None = None
        self._t: int = 0
        # (t_meas, t_before, x_before, P_before, meas): the state just before each fused measurement
        self._hist: list[tuple[int, int, F64, F64, _Meas]] = []
        self._accel_sigma = self.config.accel_noise_mps2

    def set_manoeuvre_accel(self, accel_sigma_mps2: float) -> None:
        """Process noise for what the vehicle is doing now (e.g. g*tan(bank) in a turn):
        never below the configured floor; non-finite values are ignored."""
        if math.isfinite(accel_sigma_mps2):
            self._accel_sigma = max(self.config.accel_noise_mps2, float(accel_sigma_mps2))

    @property
    def initialized(self) -> bool:
        return self._x is not None

    def reset(self, t_ns: int, north_m: float, east_m: float, cov_ne: F64,
              vn: float = 0.0, ve: float = 0.0, vel_sigma: float | None = None) -> None:
        """(Re)initialise at a position; history is dropped."""
        check_cov_2x2(cov_ne, "cov_ne", t_ns)
        vs = self.config.initial_velocity_sigma_mps if vel_sigma is None else vel_sigma
        self._x = np.array([north_m, east_m, vn, ve], np.float64)
        P = np.zeros((4, 4))
        P[:2, :2] = cov_ne
        P[2, 2] = P[3, 3] = vs * vs
        self._P = P
        self._t = int(t_ns)
        self._hist.clear()

    def _predict(self, x: F64, P: F64, dt: float) -> tuple[F64, F64]:
        if dt <= 0:
            return x, P
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        q = self._accel_sigma**2
        q11, q12, q22 = dt**3 / 3.0 * q, dt**2 / 2.0 * q, dt * q
        Q = np.array([[q11, 0, q12, 0], [0, q11, 0, q12], [q12, 0, q22, 0], [0, q12, 0, q22]])
        x2 = F @ x
        P2 = F @ P @ F.T + Q
        cap = self.config.max_position_sigma_m**2
        if P2[0, 0] > cap or P2[1, 1] > cap:
            s = math.sqrt(cap / max(P2[0, 0], P2[1, 1]))
            P2[:2, :] *= s
            P2[:, :2] *= s
        return x2, P2

    def update_position(self, t_ns: int, north_m: float, east_m: float, cov_ne: F64, gate: bool = True) -> UpdateOutcome:
        """Fuse an absolute position fix taken at `t_ns` (may be in the past)."""
        z = np.array([north_m, east_m], np.float64)
        if not np.all(np.isfinite(z)):
            raise MeasurementError("position", (north_m, east_m), "finite metres", t_ns)
        check_cov_2x2(cov_ne, "cov_ne", t_ns)
        return self._add(_Meas(int(t_ns), "pos", z, np.asarray(cov_ne, np.float64), gate))

    def update_velocity(self, t_ns: int, vn: float, ve: float, cov: F64, gate: bool = True) -> UpdateOutcome:
        """Fuse a horizontal velocity measured at `t_ns` (e.g. visual odometry)."""
        z = np.array([vn, ve], np.float64)
        if not np.all(np.isfinite(z)):
            raise MeasurementError("velocity", (vn, ve), "finite m/s", t_ns)
        check_cov_2x2(cov, "cov_vel", t_ns)
        return self._add(_Meas(int(t_ns), "vel", z, np.asarray(cov, np.float64), gate))

    def _apply(self, x: F64, P: F64, m: _Meas) -> tuple[F64, F64, UpdateOutcome]:
        H = _H_POS if m.kind == "pos" else _H_VEL
        y = m.z - H @ x
        S = H @ P @ H.T + m.R
        try:
            Si = np.linalg.inv(S)
        except np.linalg.LinAlgError:
            return x, P, UpdateOutcome(False, math.inf, "singular_innovation")
        d2 = float(y @ Si @ y)
        if m.gate and d2 > self.config.gate_chi2:
            return x, P, UpdateOutcome(False, d2, "mahalanobis_gate")
        K = P @ H.T @ Si
        x2 = x + K @ y
        IKH = np.eye(4) - K @ H
        P2 = IKH @ P @ IKH.T + K @ m.R @ K.T  # Joseph form: stays symmetric positive-definite
        P2 = 0.5 * (P2 + P2.T)
        beta = self.config.correlated_fraction
        if m.kind == "pos" and beta > 0:
            # Fix errors are correlated in time (map misregistration, attitude bias): that part
            # does not average out, so the position covariance never drops below beta * R.
            P2[:2, :2] += deficit_to_floor(P2[:2, :2], beta * m.R)
        return x2, P2, UpdateOutcome(True, d2)

    def _add(self, m: _Meas) -> UpdateOutcome:
        if self._x is None or self._P is None:
            return UpdateOutcome(False, math.nan, "not_initialized")
        if m.t_ns >= self._t:
            out = self._add_forward(m)
            self._trim()
            return out
        # Delayed: rewind to the state before the first later measurement, fuse m, re-fuse the rest.
        idx = bisect.bisect_right([h[0] for h in self._hist], m.t_ns)
        if idx >= len(self._hist):  # nothing fused after m.t_ns, only a predict beyond it
            return self._add_forward(m)
        t_before, x_before, P_before = self._hist[idx][1], self._hist[idx][2], self._hist[idx][3]
        if t_before > m.t_ns:
            raise MeasurementError("timestamp_ns", m.t_ns,
                                   f"within the filter's {self.config.history_s} s history (oldest {t_before})", m.t_ns)
        later = [h[4] for h in self._hist[idx:]]
        del self._hist[idx:]
        self._x, self._P, self._t = x_before, P_before, t_before
        out = self._add_forward(m)
        for lm in later:
            self._add_forward(lm)
        return out

    def _add_forward(self, m: _Meas) -> UpdateOutcome:
        assert self._x is not None and self._P is not None
        self._hist.append((m.t_ns, self._t, self._x, self._P, m))
        x, P = self._predict(self._x, self._P, max(m.t_ns - self._t, 0) * 1e-9)
        self._x, self._P, out = self._apply(x, P, m)
        self._t = max(self._t, m.t_ns)
        return out

    def _trim(self) -> None:
        horizon = self._t - int(self.config.history_s * 1e9)
        while self._hist and self._hist[0][0] < horizon:
            self._hist.pop(0)

    def estimate(self, t_ns: int | None = None) -> FilterEstimate | None:
        """The state predicted to `t_ns` (default: the last measurement time); None before initialisation.
        Predicting does not change the filter."""
        if self._x is None or self._P is None:
            return None
        t = self._t if t_ns is None else int(t_ns)
        x, P = self._predict(self._x, self._P, (t - self._t) * 1e-9)
        return FilterEstimate(t, float(x[0]), float(x[1]), float(x[2]), float(x[3]), P)

    @property
    def time_ns(self) -> int:
        return self._t
