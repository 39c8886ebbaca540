"""The baseline localizer: dead reckoning from the position prior with the
autopilot telemetry, no imagery. It is what a vehicle knows without vision, so
it is the bar any visual localizer must clear, and it validates the benchmark
runner end to end (same inputs, same output files as the airborne replay).

Position: the latest prior, carried forward at the velocity between the last two
priors (zero with a single prior). Uncertainty: the prior's sigma grown by a
per-vehicle speed uncertainty times the time since the prior (honest: without
velocity knowledge the vehicle may be anywhere it could have flown). Altitude
from the autopilot's barometric MSL altitude. No absolute fixes: every frame's
row in fixes.csv is refused with the reason.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from gps_denied_onboard._types import WGS84_A, WGS84_E2
from gps_denied_onboard.dataset import EstimateWriter, FixRow, TrackRow, read_flight

OUTPUT_RATE_HZ = 10.0
SPEED_SIGMA_MPS = {"multirotor": 8.0, "fixed_wing": 25.0}
NO_FIX_REASON = "baseline localizer: no image registration"


def _metres_per_degree(lat_deg: float) -> tuple[float, float]:
    phi = math.radians(lat_deg)
    s2 = math.sin(phi) ** 2
    m = WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * s2) ** 1.5
    n = WGS84_A / math.sqrt(1 - WGS84_E2 * s2)
    return math.radians(1.0) * m, math.radians(1.0) * n * math.cos(phi)


def run_baseline(flight_dir: Path, out_dir: Path, *, realtime: bool = False) -> None:
    """Write track.csv, fixes.csv and timing.csv for `flight_dir` into `out_dir`."""
    flight = read_flight(flight_dir)
    frames = flight.frame_times_ns
    t0, t1 = int(frames[0]), int(frames[-1])
    step = int(round(1e9 / OUTPUT_RATE_HZ))
    ticks = np.arange(t0, t1 + 1, step, dtype=np.int64)
    q = SPEED_SIGMA_MPS.get(flight.meta.vehicle, 25.0)
    prior = flight.prior
    start_wall = time.monotonic_ns()
    frame_i = 0
    with EstimateWriter(out_dir) as out:
        for tick in ticks:
            # Frames captured up to this tick are "processed": decoded, then refused.
            while frame_i < len(frames) and frames[frame_i] <= tick:
                if realtime:
                    _sleep_until(start_wall, int(frames[frame_i]) - t0)
                available = time.monotonic_ns()
                flight.load_frame(frame_i)
                ft = int(frames[frame_i])
                nan = float("nan")
                out.fix(FixRow(ft, nan, nan, nan, nan, nan, False, NO_FIX_REASON))
                out.timing(ft, (time.monotonic_ns() - available) / 1e6)
                frame_i += 1
            alt = float(flight.altitude.interpolate(int(tick))[1])
            if prior is None or int(prior.t_ns[0]) > int(tick):
                nan = float("nan")
                out.track(TrackRow(int(tick), nan, nan, alt, 0.0, 0.0, 0.0, nan, nan, nan, "none", "lost"))
                continue
            k = int(np.searchsorted(prior.t_ns, tick, side="right")) - 1
            lat, lon, sigma = (float(v) for v in prior.values[k])
            m_lat, m_lon = _metres_per_degree(lat)
            vn = ve = 0.0
            if k >= 1:
                dt = (int(prior.t_ns[k]) - int(prior.t_ns[k - 1])) / 1e9
                vn = (lat - float(prior.values[k - 1, 0])) * m_lat / dt
                ve = (lon - float(prior.values[k - 1, 1])) * m_lon / dt
            age = (int(tick) - int(prior.t_ns[k])) / 1e9
            lat_e = lat + vn * age / m_lat
            lon_e = lon + ve * age / m_lon
            var = sigma**2 + (q * age) ** 2
            out.track(TrackRow(int(tick), lat_e, lon_e, alt, vn, ve, 0.0, var, 0.0, var, "predict", "degraded"))


def _sleep_until(start_wall_ns: int, offset_ns: int) -> None:
    delay = (start_wall_ns + offset_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)
