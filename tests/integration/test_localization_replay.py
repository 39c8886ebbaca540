"""End to end: `replay_flight` over synthetic cross-date flights (map from one 'date',
frames rendered from another) — accuracy, honest covariance, output rate, and the
bad-input cases: water, corrupt frames, missing telemetry, a map of somewhere else."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gps_denied_onboard._types import LatLonAlt
from gps_denied_onboard.components.c7_geo_registration import GeoRasterMap
from gps_denied_onboard.dataset import read_estimates, read_flight
from gps_denied_onboard.runtime_root.airborne_replay import replay_flight
from tests.integration.localization_flightgen import (
    synthesize_flight,
    synthetic_world_pair,
    track_errors_m,
    write_geotiff,
)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("worlds")
    a, b = synthetic_world_pair(21)
    c, _ = synthetic_world_pair(99)
    return {"map": write_geotiff(d / "a.tif", a), "flight": write_geotiff(d / "b.tif", b),
            "elsewhere": write_geotiff(d / "c.tif", c)}


def _errors_vs_sigma(flight_dir: Path, out_dir: Path) -> list[tuple[float, float, float]]:
    """(error m, normalised error^2, major sigma m) of every accepted fix."""
    fl = read_flight(flight_dir, check_images=False)
    fx = read_estimates(out_dir).fixes
    out = []
    for i in np.flatnonzero(fx.accepted).tolist():
        g = fl.groundtruth.interpolate(int(fx.t_ns[i]))  # type: ignore[union-attr]
        from gps_denied_onboard._types import EnuFrame

        enu = EnuFrame(LatLonAlt(float(g[0]), float(g[1]), 0.0)).to_enu(LatLonAlt(float(fx.lat[i]), float(fx.lon[i]), 0.0))
        d = np.array([enu[1], enu[0]])
        c = np.array([[fx.cov[i, 0], fx.cov[i, 1]], [fx.cov[i, 1], fx.cov[i, 2]]])
        out.append((float(np.hypot(*d)), float(d @ np.linalg.solve(c, d)), float(np.sqrt(np.linalg.eigvalsh(c).max()))))
    return out


def test_clean_flight_is_accurate_honest_and_continuous(worlds: dict[str, Path], tmp_path: Path) -> None:
    fl = synthesize_flight(GeoRasterMap(worlds["flight"]), tmp_path / "flight", gsd_m=1.0, seconds=8.0, seed=3)
    res = replay_flight(fl, tmp_path / "out", map_path=worlds["map"])
    s = track_errors_m(fl, tmp_path / "out")
    assert s["fix_rate"] >= 0.85
    assert s["fix_cep50_m"] < 1.5  # map pixels are 1 m
    assert s["fix_cover3"] >= 0.97 and s["track_cover3"] >= 0.95
    errs = _errors_vs_sigma(fl, tmp_path / "out")
    assert all(e < 5 * sig for e, _, sig in errs)  # no false fix
    est = read_estimates(tmp_path / "out")
    assert len(est.timing) == res.frames == 80
    dt = np.diff(est.track.t_ns) * 1e-9
    assert dt.max() <= 0.1 + 1e-6  # >= 10 Hz on the flight clock
    assert set(est.track.source[5:]) <= {"fix", "vo", "predict"}


def test_bad_input_degrades_and_recovers(worlds: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def water(k: int, img: np.ndarray) -> np.ndarray | None:
        if 25 <= k < 40:  # a lake: flat with sensor noise
            return np.clip(np.array([120, 80, 40]) + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        return None

    fl = synthesize_flight(GeoRasterMap(worlds["flight"]), tmp_path / "flight", gsd_m=1.0, seconds=9.0, seed=4,
                           frame_hook=water)
    flight = read_flight(fl)
    for k in (50, 51):  # corrupt frames on disk
        flight.frames[k].path.write_bytes(b"\x89PNG garbage")
    att_csv = fl / "mav0" / "attitude0" / "data.csv"
    lines = att_csv.read_text().splitlines()
    gap = (flight.frames[60].t_ns, flight.frames[72].t_ns)
    att_csv.write_text("\n".join(ln for ln in lines if ln.startswith("#") or not gap[0] <= int(ln.split(",")[0]) <= gap[1]) + "\n")

    res = replay_flight(fl, tmp_path / "out", map_path=worlds["map"])
    est = read_estimates(tmp_path / "out")
    assert res.frames == 90 and len(est.timing) == 90  # every frame processed, none fatal
    by_t = {int(t): (bool(a), r) for t, a, r in zip(est.fixes.t_ns, est.fixes.accepted, est.fixes.reason, strict=True)}
    water_reasons = [by_t[flight.frames[k].t_ns][1] for k in range(26, 40)]
    assert water_reasons.count("no_texture") >= 12
    assert flight.frames[50].t_ns not in by_t  # corrupt: not attempted
    # telemetry older than 0.5 s is stale: those frames are not registered
    assert all(flight.frames[k].t_ns not in by_t for k in range(66, 73))
    # covariance grows honestly through the lake, then fixes resume
    tr = est.track
    i_before = int(np.searchsorted(tr.t_ns, flight.frames[24].t_ns))
    i_end = int(np.searchsorted(tr.t_ns, flight.frames[39].t_ns))
    assert tr.cov[i_end, 0] > 4 * tr.cov[i_before, 0]
    assert "degraded" in tr.health[i_before + 3:i_end]
    assert any(by_t[flight.frames[k].t_ns][0] for k in range(75, 90) if flight.frames[k].t_ns in by_t)
    errs = _errors_vs_sigma(fl, tmp_path / "out")
    assert errs and all(e < 5 * sig for e, _, sig in errs)


def test_map_of_somewhere_else_gives_no_fix(worlds: dict[str, Path], tmp_path: Path) -> None:
    fl = synthesize_flight(GeoRasterMap(worlds["flight"]), tmp_path / "flight", gsd_m=1.0, seconds=6.0, seed=5)
    res = replay_flight(fl, tmp_path / "out", map_path=worlds["elsewhere"])
    est = read_estimates(tmp_path / "out")
    assert res.fixes_accepted == 0 and not est.fixes.accepted.any()
    assert set(est.track.health) == {"lost"} and set(est.track.source) == {"none"}
    # an uninitialised output still claims a covariance that covers the whole map
    assert math.sqrt(est.track.cov[0, 0]) > 500.0


def test_no_prior_relocalisation_through_tile_retrieval(worlds: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Maps too large for an exhaustive search go through C6 retrieval + C7 verification."""
    import gps_denied_onboard.runtime_root.airborne_pipeline as ap

    monkeypatch.setattr(ap, "_EXHAUSTIVE_MAX_PX", 0)  # force the retrieval branch on this small map
    fl = synthesize_flight(GeoRasterMap(worlds["flight"]), tmp_path / "flight", gsd_m=1.0, seconds=5.0, seed=6)
    res = replay_flight(fl, tmp_path / "out", map_path=worlds["map"])
    s = track_errors_m(fl, tmp_path / "out")
    assert res.relocalizations >= 1 and s["fix_rate"] >= 0.5
    errs = _errors_vs_sigma(fl, tmp_path / "out")
    assert all(e < 5 * sig for e, _, sig in errs)
