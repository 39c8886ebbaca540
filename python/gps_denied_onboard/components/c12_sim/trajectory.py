"""Trajectories with attitude consistent with the motion.

Positions are sampled densely (`DT_S`) in the map's local ENU plane (height is
above ground). Multirotors tilt their thrust vector to produce the commanded
acceleration against gravity and air drag (so they pitch with acceleration, bank
in turns and lean into the wind); fixed-wings fly coordinated turns (bank =
atan(V * turn rate / g)), pitch = flight-path angle + trim angle of attack, and
crab into the wind (heading follows the air velocity, not the ground track).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types.rotation import euler_zyx_from_ned_body
from gps_denied_onboard.components.c12_sim.errors import FlightPlanError

F64 = npt.NDArray[np.float64]
G = 9.80665
DT_S = 0.01

Pattern = Literal["survey", "free", "transit", "loiter"]


@dataclass(frozen=True)
class TrajectorySpec:
    """What to fly. `area_en` is the box (east_min, north_min, east_max, north_max)
    the vehicle's ground track must stay in."""

    vehicle: Literal["multirotor", "fixed_wing"]
    pattern: Pattern
    duration_s: float
    speed_mps: float
    agl_m: float
    area_en: tuple[float, float, float, float]
    wind_ne_mps: tuple[float, float] = (0.0, 0.0)
    line_spacing_m: float = 0.0  # survey: 0 -> 60 % of the altitude

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.speed_mps <= 0 or self.agl_m <= 0:
            raise FlightPlanError("duration, speed and altitude must be positive",
                                  value=(self.duration_s, self.speed_mps, self.agl_m))
        e0, n0, e1, n1 = self.area_en
        if e1 <= e0 or n1 <= n0:
            raise FlightPlanError("the flyable area is empty: the camera footprint does not fit the map "
                                  "at this altitude", field="area_en", value=self.area_en)
        if self.vehicle == "multirotor" and self.pattern not in ("survey", "free"):
            raise FlightPlanError("multirotor patterns are survey and free", field="pattern", value=self.pattern)
        if self.vehicle == "fixed_wing" and self.pattern not in ("transit", "loiter"):
            raise FlightPlanError("fixed-wing patterns are transit and loiter", field="pattern", value=self.pattern)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Dense truth: time (s from start), ENU position (east, north, height above
    ground), NED velocity and acceleration, attitude (roll, pitch, yaw) in radians."""

    t_s: F64
    pos_enu: F64  # N x 3
    vel_ned: F64
    acc_ned: F64
    rpy: F64  # N x 3

    def index_at(self, t_s: float) -> int:
        return int(round(t_s / DT_S))


def _resample_polyline(pts: F64, step: float) -> F64:
    seg = np.diff(pts, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    q = np.arange(0.0, s[-1], step)
    return np.stack([np.interp(q, s, pts[:, 0]), np.interp(q, s, pts[:, 1])], axis=1)


def _gauss_smooth(x: F64, sigma_samples: float) -> F64:
    if sigma_samples < 1.0:
        return x
    r = int(3 * sigma_samples)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_samples) ** 2)
    k /= k.sum()
    padded = np.concatenate([np.repeat(x[:1], r, axis=0), x, np.repeat(x[-1:], r, axis=0)])
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(x.shape[1])], axis=1)


def _plan_xy(spec: TrajectorySpec, rng: np.random.Generator) -> F64:
    """Ground track sampled every DT_S (N x 2, east/north)."""
    e0, n0, e1, n1 = spec.area_en
    w, h = e1 - e0, n1 - n0
    n = int(round(spec.duration_s / DT_S)) + 1
    length = spec.speed_mps * spec.duration_s
    step = spec.speed_mps * DT_S
    if spec.pattern == "loiter":
        radius = min(w, h) / 2.0 * 0.9
        radius = min(radius, max(spec.speed_mps**2 / (G * math.tan(math.radians(30))), 50.0))
        if radius > min(w, h) / 2.0:
            raise FlightPlanError("the loiter circle does not fit the map", field="area_en", value=spec.area_en)
        ce, cn = e0 + w / 2.0, n0 + h / 2.0
        phase = rng.uniform(0, 2 * math.pi)
        direction = rng.choice([-1.0, 1.0])
        ang = phase + direction * spec.speed_mps * np.arange(n) * DT_S / radius
        return np.stack([ce + radius * np.sin(ang), cn + radius * np.cos(ang)], axis=1)
    if spec.pattern == "survey":
        spacing = spec.line_spacing_m or 0.6 * spec.agl_m
        horizontal = w >= h
        line_len = (w if horizontal else h) * 0.95
        lines = max(1, min(int(length / max(line_len, 1.0)) + 1, int((h if horizontal else w) / spacing) + 1))
        line_len = min(line_len, length / lines + spacing)
        start_a = rng.uniform(0, (w if horizontal else h) - line_len) if (w if horizontal else h) > line_len else 0.0
        span_b = (lines - 1) * spacing
        start_b = rng.uniform(0, max((h if horizontal else w) - span_b, 0.0))
        pts = []
        for i in range(lines):
            a0, a1 = (start_a, start_a + line_len) if i % 2 == 0 else (start_a + line_len, start_a)
            b = start_b + i * spacing
            pts += [(a0, b), (a1, b)]
        arr = np.array(pts, dtype=np.float64)
        if not horizontal:
            arr = arr[:, ::-1]
        arr += [e0, n0]
        sigma_s = max(2.0, 0.15 * spacing / spec.speed_mps)
    elif spec.pattern == "transit":
        return _transit(spec, rng, n)
    else:  # free (multirotor): random waypoints, flown back and forth
        arr = np.stack([rng.uniform(e0, e1, 4), rng.uniform(n0, n1, 4)], axis=1)
        sigma_s = 3.0
    # Extend the waypoint list back and forth until it is long enough, then smooth corners.
    sigma = sigma_s / DT_S
    run_up = int(3 * sigma) if sigma >= 1.0 else 0
    while np.sum(np.hypot(*np.diff(arr, axis=0).T)) < (length + 4 * run_up * step) * 1.3 + 1.0:
        arr = np.concatenate([arr, arr[::-1][1:]])
    track = _resample_polyline(arr, step)
    track = _gauss_smooth(track, sigma)
    # Skip the smoothing's edge (where the padded track starts from rest): flights start at cruise speed.
    track = np.clip(track[run_up:], [e0, n0], [e1, n1])
    if track.shape[0] < n:
        raise FlightPlanError("the planned track is too short", value=track.shape[0])
    return track[:n]


def _transit(spec: TrajectorySpec, rng: np.random.Generator, n: int) -> F64:
    """A fixed-wing leg: constant speed, a gentle constant turn (0-1.5 deg/s, so some
    bank), placed at random where it fits the area; straight if a turn does not fit."""
    e0, n0, e1, n1 = spec.area_en
    t = np.arange(n) * DT_S
    heading0 = rng.uniform(0, 2 * math.pi)
    rate = math.radians(rng.uniform(0.0, 1.5)) * rng.choice([-1.0, 1.0])
    for turn_rate in (rate, 0.0):
        for k in range(36):  # try headings around the circle: the longest axis fits best
            hd = heading0 + k * math.radians(10) + turn_rate * t
            step = spec.speed_mps * DT_S
            xy = np.cumsum(np.stack([np.sin(hd) * step, np.cos(hd) * step], axis=1), axis=0)
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            slack = np.array([e1 - e0, n1 - n0]) - (hi - lo)
            if np.all(slack >= 0):
                offset = np.array([e0, n0]) - lo + rng.uniform(0, 1, 2) * slack
                return xy + offset
    raise FlightPlanError("the transit leg is longer than the map: shorten the flight or use loiter",
                          field="duration_s", value=spec.duration_s)


def _derivative(x: F64) -> F64:
    return np.gradient(x, DT_S, axis=0)


def make_trajectory(spec: TrajectorySpec, rng: np.random.Generator) -> Trajectory:
    """Plan the ground track and derive velocity, acceleration and attitude."""
    xy = _plan_xy(spec, rng)
    n = xy.shape[0]
    t = np.arange(n, dtype=np.float64) * DT_S
    # Gentle altitude variation (a few % of AGL) as real flights never hold height exactly.
    ph = rng.uniform(0, 2 * math.pi)
    # Slow (period >= 2 min), small (<= 2 %) height wander; vertical speed stays below 0.5 m/s.
    period = max(spec.duration_s, 120.0)
    amplitude = min(0.02 * spec.agl_m, 0.5 * period / (2 * math.pi))
    height = spec.agl_m + amplitude * np.sin(2 * math.pi * t / period + ph)
    pos = np.column_stack([xy, height])
    ned = np.column_stack([pos[:, 1], pos[:, 0], -pos[:, 2]])
    vel = _gauss_smooth(_derivative(ned), 5)
    acc = _gauss_smooth(_derivative(vel), 10)
    wind = np.array([spec.wind_ne_mps[0], spec.wind_ne_mps[1], 0.0])
    rpy = np.empty((n, 3))
    if spec.vehicle == "multirotor":
        course = np.unwrap(np.arctan2(vel[:, 1], vel[:, 0]))
        speed = np.hypot(vel[:, 0], vel[:, 1])
        # Hold the last meaningful heading when hovering slowly.
        course = np.where(speed > 0.5, course, np.nan)
        valid = ~np.isnan(course)
        if not valid.any():
            course[:] = 0.0
        else:
            course = np.interp(np.arange(n), np.flatnonzero(valid), course[valid])
        yaw = _gauss_smooth(course[:, None], 50)[:, 0]
        drag = 0.15  # 1/s: ~9 deg of tilt at 10 m/s airspeed
        for i in range(n):
            f = acc[i] - np.array([0.0, 0.0, G]) + drag * (vel[i] - wind)
            z_b = -f / np.linalg.norm(f)
            x_c = np.array([math.cos(yaw[i]), math.sin(yaw[i]), 0.0])
            y_b = np.cross(z_b, x_c)
            y_b /= np.linalg.norm(y_b)
            x_b = np.cross(y_b, z_b)
            rpy[i] = euler_zyx_from_ned_body(np.column_stack([x_b, y_b, z_b]))
    else:
        air = vel - wind
        heading = np.unwrap(np.arctan2(air[:, 1], air[:, 0]))
        course = np.unwrap(np.arctan2(vel[:, 1], vel[:, 0]))
        turn_rate = _derivative(course[:, None])[:, 0]
        v_air = np.linalg.norm(air[:, :2], axis=1)
        roll = np.arctan(v_air * turn_rate / G)
        gamma = np.arctan2(-vel[:, 2], np.hypot(vel[:, 0], vel[:, 1]))
        pitch = gamma + math.radians(3.0)
        rpy = np.column_stack([roll, pitch, np.angle(np.exp(1j * heading))])
    return Trajectory(t, pos.astype(np.float64), vel, acc, rpy.astype(np.float64))
