"""Scoring a localizer's output against the flight's ground truth.

Definitions (docs/benchmark.md):
- horizontal error: metres between estimate and truth (local north/east on WGS84,
  truth interpolated to the estimate's timestamp); also in map pixels (divided by
  the map's geometric-mean pixel size);
- CEP50 / CEP95: 50th / 95th percentile of the horizontal errors (linear
  interpolation between order statistics, numpy's default);
- availability (after first fix): share of 100 ms slots from the first accepted
  fix to the last frame holding at least one output tick with a position and
  health other than `lost`;
- absolute-fix rate: accepted fixes / frames; false-fix rate: accepted fixes whose
  error exceeds 5 sigma along the error direction (Mahalanobis distance > 5 under
  the fix's own covariance) / accepted fixes;
- 3-sigma coverage: share of fused ticks whose error lies inside the claimed 3-sigma
  ellipse (Mahalanobis distance <= 3; an honest Gaussian filter scores ~98.9 %);
- time to first fix: first accepted fix time - first frame time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import WGS84_A, WGS84_E2
from gps_denied_onboard.components.c12_sim.errors import BenchError
from gps_denied_onboard.dataset import Estimates, FlightDataset, TimeSeries

F64 = npt.NDArray[np.float64]
SLOT_NS = 100_000_000
FALSE_FIX_SIGMA = 5.0
COVERAGE_SIGMA = 3.0


@dataclass(frozen=True)
class ErrorStats:
    """Summary of a set of horizontal errors (metres)."""

    n: int
    mean_m: float
    cep50_m: float
    cep95_m: float
    max_m: float
    rmse_m: float

    def in_pixels(self, gsd_m: float) -> dict[str, float]:
        return {
            "mean_px": self.mean_m / gsd_m, "cep50_px": self.cep50_m / gsd_m, "cep95_px": self.cep95_m / gsd_m,
            "max_px": self.max_m / gsd_m, "rmse_px": self.rmse_m / gsd_m,
        }


def error_stats(errors_m: npt.ArrayLike) -> ErrorStats | None:
    """Mean, CEP50, CEP95, max and RMSE of horizontal errors; None for no errors."""
    e = np.asarray(errors_m, dtype=np.float64)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return None
    return ErrorStats(
        int(e.size), float(np.mean(e)), float(np.percentile(e, 50)), float(np.percentile(e, 95)), float(np.max(e)),
        float(np.sqrt(np.mean(e * e))),
    )


def north_east_error_m(lat: F64, lon: F64, true_lat: F64, true_lon: F64) -> tuple[F64, F64]:
    """(north, east) metres from truth to estimate, on WGS84 radii at the truth latitude."""
    phi = np.radians(true_lat)
    s2 = np.sin(phi) ** 2
    m = WGS84_A * (1.0 - WGS84_E2) / (1.0 - WGS84_E2 * s2) ** 1.5
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * s2)
    dlon = (np.asarray(lon) - np.asarray(true_lon) + 180.0) % 360.0 - 180.0
    return np.radians(np.asarray(lat) - np.asarray(true_lat)) * m, np.radians(dlon) * n * np.cos(phi)


def mahalanobis(dn: F64, de: F64, cov: F64) -> F64:
    """Mahalanobis distance of (north, east) errors under covariances (N x 3: nn, ne, ee);
    NaN where the covariance is not positive definite."""
    nn, ne, ee = cov[:, 0], cov[:, 1], cov[:, 2]
    det = nn * ee - ne * ne
    with np.errstate(invalid="ignore", divide="ignore"):
        d2 = (ee * dn * dn - 2 * ne * dn * de + nn * de * de) / det
        ok = (nn > 0) & (ee > 0) & (det > 0)
        return np.where(ok, np.sqrt(np.maximum(d2, 0.0)), np.nan)


def major_sigma(cov: F64) -> F64:
    """1-sigma length of each covariance's major axis (metres)."""
    nn, ne, ee = cov[:, 0], cov[:, 1], cov[:, 2]
    half = 0.5 * (nn + ee)
    root = np.sqrt(np.maximum(0.25 * (nn - ee) ** 2 + ne * ne, 0.0))
    return np.sqrt(np.maximum(half + root, 0.0))


def _truth_at(gt: TimeSeries, t_ns: npt.NDArray[np.int64]) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    inside = (t_ns >= gt.t_ns[0]) & (t_ns <= gt.t_ns[-1])
    vals = gt.interpolate(t_ns) if t_ns.size else np.zeros((0, len(gt.columns)))
    return vals[:, gt.columns.index("lat")], vals[:, gt.columns.index("lon")], inside


def _percentile(x: F64, q: float) -> float | None:
    return float(np.percentile(x, q)) if x.size else None


@dataclass(frozen=True, eq=False)
class Scored:
    """Per-row errors kept for plots and pooled totals."""

    track_t_ns: npt.NDArray[np.int64]
    track_err_m: F64
    track_sigma3_m: F64
    fix_t_ns: npt.NDArray[np.int64]
    fix_err_m: F64
    fix_accepted: npt.NDArray[np.bool_]


def score(flight: FlightDataset, est: Estimates, *, map_gsd_m: float | None) -> tuple[dict[str, Any], Scored]:
    """All the benchmark's accuracy and availability figures for one run."""
    gt = flight.groundtruth
    if gt is None or len(gt) == 0:
        raise BenchError("the flight has no ground truth to score against", path=flight.root, field="groundtruth")
    frames = flight.frame_times_ns
    t_start, t_end = int(frames[0]), int(frames[-1])
    # --- fused output ---
    tr = est.track
    has_pos = np.array([s != "none" for s in tr.source], dtype=bool) & np.isfinite(tr.lat) & np.isfinite(tr.lon)
    tlat, tlon, inside = _truth_at(gt, tr.t_ns)
    dn, de = north_east_error_m(tr.lat, tr.lon, tlat, tlon)
    err = np.where(has_pos & inside, np.hypot(dn, de), np.nan)
    maha = mahalanobis(dn, de, tr.cov)
    sigma3 = COVERAGE_SIGMA * major_sigma(tr.cov)
    scored_rows = has_pos & inside
    # --- fixes ---
    fx = est.fixes
    flat, flon, finside = _truth_at(gt, fx.t_ns)
    fdn, fde = north_east_error_m(fx.lat, fx.lon, flat, flon)
    ferr = np.where(finside & fx.accepted, np.hypot(fdn, fde), np.nan)
    fmaha = mahalanobis(fdn, fde, fx.cov)
    accepted = fx.accepted & finside
    n_acc = int(np.count_nonzero(accepted))
    false_fixes = int(np.count_nonzero(accepted & ~(fmaha <= FALSE_FIX_SIGMA)))
    first_fix_ns = int(fx.t_ns[accepted][0]) if n_acc else None
    # --- availability: 100 ms slots from the first fix (or the first frame) to the last frame ---
    good = has_pos & np.array([h != "lost" for h in tr.health], dtype=bool)

    def availability(start_ns: int) -> float | None:
        if t_end <= start_ns:
            return None
        n_slots = max(1, int(math.ceil((t_end - start_ns) / SLOT_NS)))
        ts = tr.t_ns[good & (tr.t_ns >= start_ns) & (tr.t_ns <= t_end)]
        slots = np.unique(np.minimum((ts - start_ns) // SLOT_NS, n_slots - 1))
        return float(slots.size / n_slots)

    fused = error_stats(err)
    fix_stats = error_stats(ferr)
    duration_s = (t_end - t_start) / 1e9
    lat_ms = est.timing.latency_ms
    report: dict[str, Any] = {
        "frames": int(frames.size),
        "duration_s": duration_s,
        "map_gsd_m": map_gsd_m,
        "fused": _stats_dict(fused, map_gsd_m),
        "fixes": _stats_dict(fix_stats, map_gsd_m),
        "track_ticks": int(len(tr)),
        "output_rate_hz": float(len(tr) / duration_s) if duration_s > 0 else None,
        "availability": availability(t_start),
        "availability_after_first_fix": availability(first_fix_ns) if first_fix_ns is not None else None,
        "fix_attempts": int(len(fx)),
        "fixes_accepted": n_acc,
        "absolute_fix_rate": n_acc / int(frames.size),
        "false_fixes": false_fixes,
        "false_fix_rate": false_fixes / n_acc if n_acc else None,
        "coverage_3sigma": float(np.mean(maha[scored_rows] <= COVERAGE_SIGMA)) if scored_rows.any() else None,
        "time_to_first_fix_s": (first_fix_ns - t_start) / 1e9 if first_fix_ns is not None else None,
        "latency_ms": {
            "frames_timed": int(lat_ms.size),
            "p50": _percentile(lat_ms, 50), "p99": _percentile(lat_ms, 99),
            "max": float(np.max(lat_ms)) if lat_ms.size else None,
        },
    }
    scored = Scored(tr.t_ns[scored_rows], err[scored_rows], sigma3[scored_rows], fx.t_ns, ferr, accepted)
    return report, scored


def _stats_dict(stats: ErrorStats | None, gsd: float | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {**asdict(stats), **(stats.in_pixels(gsd) if gsd else {})}
