"""The flight the emulated autopilot flies: its telemetry streams (what it reports)
and the ground truth (what it judges positions against), on the dataset's clock."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gps_denied_onboard.autopilot_emulator.errors import EmulatorConfigError
from gps_denied_onboard.autopilot_emulator.gate import Truth, ne_error_m
from gps_denied_onboard.dataset import FlightDataset, TimeSeries


@dataclass(frozen=True, eq=False)
class FlightTrack:
    """`attitude` (roll, pitch, yaw), `altitude` (alt_agl, alt_msl), optional `imu`
    (ASL columns), `truth` (lat, lon, alt_msl, ...): dataset TimeSeries on one clock."""

    attitude: TimeSeries
    altitude: TimeSeries
    truth: TimeSeries
    imu: TimeSeries | None = None
    ground_alt_msl_m: float = 0.0

    def __post_init__(self) -> None:
        for name, series in (("attitude", self.attitude), ("altitude", self.altitude), ("truth", self.truth)):
            if len(series) < 2:
                raise EmulatorConfigError(f"flight track needs at least 2 {name} samples, got {len(series)}")

    @classmethod
    def from_dataset(cls, flight: FlightDataset) -> FlightTrack:
        """The track of a flight dataset (it must have ground truth)."""
        if flight.groundtruth is None:
            raise EmulatorConfigError(f"flight {flight.root} has no ground truth: the emulator cannot judge positions")
        return cls(flight.attitude, flight.altitude, flight.groundtruth, flight.imu, flight.meta.ground_alt_msl_m)

    @property
    def t0_ns(self) -> int:
        return int(min(self.attitude.t_ns[0], self.altitude.t_ns[0], self.truth.t_ns[0]))

    @property
    def t_end_ns(self) -> int:
        return int(max(self.attitude.t_ns[-1], self.altitude.t_ns[-1], self.truth.t_ns[-1]))

    def covers(self, t_ns: int) -> bool:
        return int(self.truth.t_ns[0]) <= t_ns <= int(self.truth.t_ns[-1])

    def truth_at(self, t_ns: int, dt_ns: int = 100_000_000) -> Truth:
        """Interpolated truth at `t_ns`, velocity by a central difference over ±`dt_ns`."""
        lat_i, lon_i, alt_i = self.truth.columns.index("lat"), self.truth.columns.index("lon"), \
            self.truth.columns.index("alt_msl")
        lo = max(int(self.truth.t_ns[0]), t_ns - dt_ns)
        hi = min(int(self.truth.t_ns[-1]), t_ns + dt_ns)
        here = self.truth.interpolate(t_ns)
        if hi <= lo:
            vn = ve = vd = 0.0
        else:
            a, b = self.truth.interpolate(lo), self.truth.interpolate(hi)
            dn, de = ne_error_m(float(b[lat_i]), float(b[lon_i]), float(a[lat_i]), float(a[lon_i]))
            dt = (hi - lo) / 1e9
            vn, ve, vd = dn / dt, de / dt, -(float(b[alt_i]) - float(a[alt_i])) / dt
        return Truth(float(here[lat_i]), float(here[lon_i]), float(here[alt_i]), vn, ve, vd)


def straight_line_track(
    duration_s: float = 10.0,
    *,
    start_lat: float = 50.45,
    start_lon: float = 30.52,
    ground_alt_msl_m: float = 120.0,
    agl_m: float = 100.0,
    speed_m_s: float = 10.0,
    heading_deg: float = 45.0,
    attitude_hz: float = 50.0,
    altitude_hz: float = 10.0,
    t0_ns: int = 1_000_000_000,
) -> FlightTrack:
    """A level, constant-velocity flight (for link tests and benchmarks of the link alone)."""
    import numpy as np

    def times(rate: float) -> np.ndarray:
        n = int(duration_s * rate) + 1
        return t0_ns + (np.arange(n, dtype=np.int64) * int(1e9 / rate))

    yaw = math.radians(heading_deg)
    ta = times(attitude_hz)
    att = np.column_stack([np.zeros(len(ta)), np.zeros(len(ta)), np.full(len(ta), math.atan2(math.sin(yaw),
                                                                                        math.cos(yaw)))])
    th = times(altitude_hz)
    alt = np.column_stack([np.full(len(th), agl_m), np.full(len(th), ground_alt_msl_m + agl_m)])
    tt = times(attitude_hz)
    s = (tt - t0_ns) / 1e9 * speed_m_s
    lat = start_lat + np.degrees(s * math.cos(yaw) / 6_378_137.0)
    lon = start_lon + np.degrees(s * math.sin(yaw) / (6_378_137.0 * math.cos(math.radians(start_lat))))
    gt = np.column_stack([lat, lon, np.full(len(tt), ground_alt_msl_m + agl_m), att[:, 0], att[:, 1], att[:, 2]])
    angles = frozenset({"roll", "pitch", "yaw"})
    return FlightTrack(
        attitude=TimeSeries("attitude", ta, att, ("roll", "pitch", "yaw"), angles),
        altitude=TimeSeries("altitude", th, alt, ("alt_agl", "alt_msl")),
        truth=TimeSeries("groundtruth", tt, gt, ("lat", "lon", "alt_msl", "roll", "pitch", "yaw"), angles),
        ground_alt_msl_m=ground_alt_msl_m,
    )
