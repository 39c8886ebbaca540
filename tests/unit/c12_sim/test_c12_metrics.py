"""Benchmark metrics against hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt
from gps_denied_onboard.components.c12_sim import error_stats, mahalanobis, north_east_error_m, score
from gps_denied_onboard.dataset import (
    EstimateWriter,
    FixRow,
    FlightMeta,
    TrackRow,
    read_estimates,
    read_flight,
    write_flight,
)

S = 1_000_000_000
ORIGIN = LatLonAlt(45.0, 7.0, 0.0)
NAN = float("nan")


def test_error_stats_by_hand() -> None:
    st = error_stats([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert st is not None
    assert (st.n, st.mean_m, st.cep50_m, st.max_m) == (4, 2.5, 2.5, 4.0)
    assert st.cep95_m == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert st.rmse_m == pytest.approx(math.sqrt(7.5))
    assert st.in_pixels(0.5)["cep50_px"] == 5.0
    assert error_stats([]) is None


def test_north_east_error_against_the_ellipsoid() -> None:
    # At the equator a degree of latitude is pi/180 * M with M = a(1 - e^2).
    dn, de = north_east_error_m(np.array([1e-5]), np.array([0.0]), np.array([0.0]), np.array([0.0]))
    assert dn[0] == pytest.approx(math.radians(1e-5) * 6378137.0 * (1 - 0.00669437999014), rel=1e-9)
    assert de[0] == 0.0
    # Against the core ENU conversion, 300 m away at 45 deg.
    p = EnuFrame(ORIGIN).to_geodetic((-120.0, 250.0, 0.0))
    dn, de = north_east_error_m(np.array([p.lat_deg]), np.array([p.lon_deg]), np.array([45.0]), np.array([7.0]))
    assert (dn[0], de[0]) == (pytest.approx(250.0, abs=0.02), pytest.approx(-120.0, abs=0.02))


def test_mahalanobis_by_hand() -> None:
    cov = np.array([[4.0, 0.0, 9.0], [2.0, 1.0, 2.0], [1.0, 2.0, 1.0]])
    d = mahalanobis(np.array([2.0, 1.0, 1.0]), np.array([3.0, 1.0, 1.0]), cov)
    assert d[0] == pytest.approx(math.sqrt(2.0))
    assert d[1] == pytest.approx(math.sqrt(2.0 / 3.0))  # [1 1] inv([[2 1][1 2]]) [1 1]^T = 2/3
    assert math.isnan(d[2])  # not positive definite


def _at(e: float, n: float) -> tuple[float, float]:
    p = EnuFrame(ORIGIN).to_geodetic((e, n, 0.0))
    return p.lat_deg, p.lon_deg


@pytest.fixture()
def case(tmp_path: Path):  # type: ignore[no-untyped-def]
    cam = CameraModel(8, 6, 5.0, 5.0, 3.5, 2.5)
    frames = [int(10 * S + k * S // 2) for k in range(5)]  # 10.0 .. 12.0 s
    gt_t = np.array([9 * S, 13 * S])
    gt = np.array([[45.0, 7.0, 100.0, 0, 0, 0]] * 2)
    write_flight(tmp_path / "f", FlightMeta("gdn-flight/1", "multirotor", 0.0), cam,
                 [(t, np.zeros((6, 8, 3), np.uint8)) for t in frames],
                 attitude=(gt_t, np.zeros((2, 3))), altitude=(gt_t, np.full((2, 2), 100.0)), groundtruth=(gt_t, gt))
    ticks = [10 * S + k * S // 10 for k in range(21) if not 11 <= k <= 14]  # a 0.4 s gap
    with EstimateWriter(tmp_path / "out") as w:
        k = 0
        for t in ticks:
            if t < 10.5 * S:
                w.track(TrackRow(t, NAN, NAN, NAN, 0, 0, 0, NAN, NAN, NAN, "none", "lost"))
                continue
            k += 1
            lat, lon = _at(float(k), 0.0)  # errors 1 .. 12 m east
            w.track(TrackRow(t, lat, lon, 100.0, 0, 0, 0, 4.41, 0.0, 4.41, "fix", "ok"))
        # (east, north) offset and variance per frame; None = refused.
        fixes: list[tuple[float, float, float] | None] = [None, (0.0, 3.0, 1.0), (0.0, 6.0, 1.0), None,
                                                           (1.0, 0.0, 4.0)]
        for t, fix in zip(frames, fixes, strict=True):
            if fix is None:
                w.fix(FixRow(t, NAN, NAN, NAN, NAN, NAN, False, "no match"))
            else:
                lat, lon = _at(fix[0], fix[1])
                w.fix(FixRow(t, lat, lon, fix[2], 0.0, fix[2], True))
        for t, ms in zip(frames, (10.0, 20.0, 30.0, 40.0, 50.0), strict=True):
            w.timing(t, ms)
    return read_flight(tmp_path / "f"), read_estimates(tmp_path / "out")


def test_score_by_hand(case) -> None:  # type: ignore[no-untyped-def]
    flight, est = case
    r, scored = score(flight, est, map_gsd_m=0.5)
    f = r["fused"]
    assert f["n"] == 12
    assert f["mean_m"] == pytest.approx(6.5, abs=1e-3)
    assert f["cep50_m"] == pytest.approx(6.5, abs=1e-3)
    assert f["cep95_m"] == pytest.approx(11.45, abs=1e-3)
    assert f["max_m"] == pytest.approx(12.0, abs=1e-3)
    assert f["rmse_m"] == pytest.approx(math.sqrt(650 / 12), abs=1e-3)
    assert f["cep50_px"] == pytest.approx(13.0, abs=2e-3)
    assert r["coverage_3sigma"] == pytest.approx(0.5)  # errors 1..6 within 3 x 2.1 m
    assert r["availability_after_first_fix"] == pytest.approx(11 / 15)
    assert r["availability"] == pytest.approx(11 / 20)
    assert r["output_rate_hz"] == pytest.approx(17 / 2.0)
    assert (r["fixes_accepted"], r["absolute_fix_rate"]) == (3, pytest.approx(0.6))
    assert (r["false_fixes"], r["false_fix_rate"]) == (1, pytest.approx(1 / 3))
    assert r["fixes"]["cep50_m"] == pytest.approx(3.0, abs=1e-3)
    assert r["fixes"]["max_m"] == pytest.approx(6.0, abs=1e-3)
    assert r["time_to_first_fix_s"] == pytest.approx(0.5)
    assert r["latency_ms"]["p50"] == pytest.approx(30.0)
    assert r["latency_ms"]["p99"] == pytest.approx(49.6)
    np.testing.assert_allclose(scored.track_sigma3_m, 6.3)


def test_no_fix_means_no_time_to_first_fix(case) -> None:  # type: ignore[no-untyped-def]
    flight, est = case
    est.fixes.accepted[:] = False
    r, _ = score(flight, est, map_gsd_m=None)
    assert r["time_to_first_fix_s"] is None and r["availability_after_first_fix"] is None
    assert r["absolute_fix_rate"] == 0.0 and r["false_fix_rate"] is None
    assert "cep50_px" not in r["fused"]
