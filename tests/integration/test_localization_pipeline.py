"""The `LocalizationPipeline` API the live runtime drives: NaN / absent telemetry and
garbage frames never raise, output is available at any time, GNSS disagreement is
flagged, and an FDR-like sink receives the fix decisions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt, ned_from_camera
from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c7_geo_registration import InMemoryMap, render_view
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.runtime_root.airborne_pipeline import build_localization_pipeline
from tests.integration.localization_flightgen import synthetic_world_pair

CAM = CameraModel(640, 480, 457.0, 457.0, 319.5, 239.5)
H = 228.5
MS = 1_000_000


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict]] = []

    def enqueue(self, kind: str, payload: dict) -> None:
        self.records.append((kind, payload))


@pytest.fixture(scope="module")
def maps() -> tuple[InMemoryMap, InMemoryMap]:
    a, b = synthetic_world_pair(8)
    frame = EnuFrame(LatLonAlt(45.0, 7.0, 300.0))
    return InMemoryMap(a, frame, -450.0, 450.0, 1.0), InMemoryMap(b, frame, -450.0, 450.0, 1.0)


def _fly(pipe, world: InMemoryMap, n_frames: int, *, nan_from: int | None = None, start=(0.0, -60.0)):
    reports = []
    for k in range(n_frames):
        t = 1000 * MS + k * 100 * MS
        e, n = start[0], start[1] + 8.0 * k * 0.1
        R = ned_from_camera(0.01, -0.02, 0.3, CAM.body_from_camera)
        img, _ = render_view(world, CAM, e, n, H, R)
        if nan_from is not None and k >= nan_from:
            pipe.on_attitude(t, math.nan, 0.0, 0.3)
            pipe.on_altitude(t, math.nan, math.nan)
        else:
            pipe.on_attitude(t, 0.01, -0.02, 0.3)
            pipe.on_altitude(t, H, H + 300.0)
        reports.append((t, e, n, pipe.on_frame(t, img)))
    return reports


def test_pipeline_api_end_to_end(maps) -> None:
    m, f = maps
    sink = Sink()
    pipe = build_localization_pipeline(LocalizationConfig(), m, CAM, FakeClock(), ground_alt_msl_m=300.0, record_sink=sink)
    assert pipe.output(0).source == "none" and pipe.output(0).health == "lost"
    assert pipe.output(0).speed_sigma_mps is None  # no filter state yet: unknown, not zero
    reps = _fly(pipe, f, 16, nan_from=8)
    assert any(r.accepted for _, _, _, r in reps[:8])
    # NaN samples are dropped; 0.5 s after the last good one the telemetry is stale
    assert all(not r.attempted and r.reason == "stale_telemetry" for _, _, _, r in reps[13:])
    t_last = reps[-1][0]
    for dt in (0, 50 * MS, 100 * MS):  # between frames: predicted, never raises
        out = pipe.output(t_last + dt)
        assert out.source in ("fix", "vo", "predict") and math.isfinite(out.lat_deg)
    # the velocity covariance is the filter's, and it grows while only predicting
    s_now, s_later = pipe.output(t_last).speed_sigma_mps, pipe.output(t_last + 3000 * MS).speed_sigma_mps
    assert s_now is not None and s_later is not None and 0.0 < s_now < s_later
    est = pipe.ekf.estimate(t_last)
    assert pipe.output(t_last).cov_vnvn == pytest.approx(float(est.covariance[2, 2]))
    out = pipe.output(t_last + 3000 * MS)
    assert out.health == "degraded" and "stale_telemetry" in out.degradations
    # the truth is inside the claimed 3 sigma at the last good frame
    t, e, n, _ = reps[7]
    o = pipe.output(t)
    enu = m.frame.to_enu(LatLonAlt(o.lat_deg, o.lon_deg, 0.0))
    d = np.array([enu[1] - n, enu[0] - e])
    c = np.array([[o.cov_nn, o.cov_ne], [o.cov_ne, o.cov_ee]])
    assert float(d @ np.linalg.solve(c, d)) < 11.83
    assert o.alt_msl_m == pytest.approx(H + 300.0)
    assert any(k == "c7.fix" and p.get("accepted") for k, p in sink.records)


def test_garbage_frames_and_gnss_disagreement(maps) -> None:
    m, f = maps
    pipe = build_localization_pipeline(LocalizationConfig(), m, CAM, FakeClock(), ground_alt_msl_m=300.0)
    _fly(pipe, f, 6)
    t = 2000 * MS
    pipe.on_attitude(t, 0.0, 0.0, 0.0)
    pipe.on_altitude(t, H, H + 300.0)
    for bad in (None, np.zeros((10, 10, 3), np.uint8), np.zeros((480, 640, 3), np.float32)):
        rep = pipe.on_frame(t, bad)  # type: ignore[arg-type]
        assert not rep.accepted and rep.reason in ("bad_frame", "non_monotonic_timestamp")
        t += 100 * MS
    assert pipe.counters["bad_frames"] == 3
    est = pipe.output(t)
    assert not pipe.on_gnss(t, est.lat_deg, est.lon_deg, 5.0)
    far = m.frame.to_geodetic((400.0, 400.0, 0.0))
    assert pipe.on_gnss(t, far.lat_deg, far.lon_deg, 5.0)
    assert "gnss_disagrees" in pipe.output(t).degradations


def test_sparse_frames_with_a_reversed_heading_are_localised(maps) -> None:
    """Photos seconds apart (no VO between them) whose heading telemetry is off by half a
    turn: the prior-bounded search is small enough for one-fix confirmation, and the
    reversed-heading hypothesis finds them; every accepted fix is inside its 3 sigma."""
    m, f = maps
    pipe = build_localization_pipeline(LocalizationConfig(), m, CAM, FakeClock(), ground_alt_msl_m=300.0)
    p0 = m.frame.to_geodetic((0.0, -40.0, 0.0))
    pipe.on_prior(500 * MS, p0.lat_deg, p0.lon_deg, 5.0)
    accepted = []
    for k in range(3):
        t = 1000 * MS + k * 7000 * MS
        e, n = 0.0, -40.0 + 35.0 * k  # 5 m/s north
        R = ned_from_camera(0.01, -0.02, 0.3, CAM.body_from_camera)
        img, _ = render_view(f, CAM, e, n, H, R)
        pipe.on_attitude(t, 0.01, -0.02, 0.3 + math.pi)  # heading reference reversed
        pipe.on_altitude(t, H, H + 300.0)
        rep = pipe.on_frame(t, img)
        if rep.accepted:
            enu = m.frame.to_enu(LatLonAlt(rep.lat_deg, rep.lon_deg, 0.0))
            d = np.array([enu[1] - n, enu[0] - e])
            c = np.array([[rep.cov_nn, rep.cov_ne], [rep.cov_ne, rep.cov_ee]])
            accepted.append((float(np.hypot(*d)), float(d @ np.linalg.solve(c, d))))
    assert len(accepted) >= 2
    assert all(err < 3.0 and m2 < 11.83 for err, m2 in accepted)
    # successive fixes with no VO between them are fused, not reset: the velocity is learnt
    out = pipe.output(1000 * MS + 2 * 7000 * MS)
    assert abs(out.vn_mps - 5.0) < 1.0 and abs(out.ve_mps) < 1.0


def test_whole_map_relocalisation_derives_the_map_field_once_per_scale(maps: tuple[InMemoryMap, InMemoryMap]) -> None:
    """No prior: the first frames search the whole map through the map's cached coarse
    orientation field (derived once for the flight's scale, not at every search) and
    take the same decisions, at nearly the same places, as reading the map each time."""
    m, f = maps
    runs: dict[bool, tuple[Any, list[Any]]] = {}
    for cached in (True, False):
        pipe = build_localization_pipeline(LocalizationConfig(), m, CAM, FakeClock(), ground_alt_msl_m=300.0)
        if not cached:
            pipe._reloc_registrar.map_fields = None
        runs[cached] = (pipe, _fly(pipe, f, 5))
    pipe, reps = runs[True]
    fields = pipe._reloc_registrar.map_fields
    assert fields is not None
    assert sum(r.mode == "reloc" for *_, r in reps) >= 2  # a whole-map search, then its confirmation
    assert fields.computed == 1 and len(fields.keys()) == 1 and 0 < fields.nbytes <= fields.max_bytes
    assert pipe.counters["relocalizations"] == 1
    for (_, e, n, a), (*_, b) in zip(reps, runs[False][1], strict=True):
        assert (a.accepted, a.mode, a.reason) == (b.accepted, b.mode, b.reason)
        if a.accepted:
            ea = m.frame.to_enu(LatLonAlt(a.lat_deg, a.lon_deg, 0.0))
            eb = m.frame.to_enu(LatLonAlt(b.lat_deg, b.lon_deg, 0.0))
            # the crop samples the map at another phase than a patch read (< half a coarse
            # pixel): the fine fixes differ by that noise, well inside their claimed sigma
            assert math.hypot(ea[0] - eb[0], ea[1] - eb[1]) < min(math.sqrt(a.cov_nn), math.sqrt(a.cov_ee))
            assert math.hypot(ea[0] - e, ea[1] - n) < 3.0


def _first_fix_flight(m: InMemoryMap, f: InMemoryMap, config: LocalizationConfig, prior_en: tuple[float, float],
                      n_frames: int = 14):
    """2 fps, 20 m/s north from (0, -140) with a 25 m prior at `prior_en`: (frame index,
    error m, report) of each frame."""
    pipe = build_localization_pipeline(config, m, CAM, FakeClock(), ground_alt_msl_m=300.0)
    p0 = m.frame.to_geodetic((prior_en[0], prior_en[1], 0.0))
    pipe.on_prior(900 * MS, p0.lat_deg, p0.lon_deg, 25.0)
    out = []
    for k in range(n_frames):
        t = 1000 * MS + k * 500 * MS
        e, n = 0.0, -140.0 + 10.0 * k
        R = ned_from_camera(0.01, -0.02, 0.3, CAM.body_from_camera)
        img, _ = render_view(f, CAM, e, n, H, R)
        pipe.on_attitude(t, 0.01, -0.02, 0.3)
        pipe.on_altitude(t, H, H + 300.0)
        rep = pipe.on_frame(t, img)
        err = math.nan
        if rep.accepted:
            enu = m.frame.to_enu(LatLonAlt(rep.lat_deg, rep.lon_deg, 0.0))
            err = math.hypot(enu[0] - e, enu[1] - n)
        out.append((k, err, rep))
    return out


def test_first_fix_by_consensus_of_frames_over_different_ground(maps) -> None:
    """No single frame passes the first-fix gate (set out of reach here): with the
    consensus on, frames that agree after the footprint moved by 30 % give the first fix,
    at the right place; off, nothing does. Around a wrong prior (the truth outside the
    search window) the consensus accepts nothing."""
    m, f = maps
    strict = LocalizationConfig(relocalization_min_distinctiveness=0.99, first_fix_consensus=False)
    off = _first_fix_flight(m, f, strict, (5.0, -150.0))
    assert not any(r.accepted for _, _, r in off)
    assert all(r.reason == "ambiguous_peak" for _, _, r in off)
    on_cfg = LocalizationConfig(relocalization_min_distinctiveness=0.99)  # the consensus is on by default
    assert on_cfg.first_fix_consensus
    on = _first_fix_flight(m, f, on_cfg, (5.0, -150.0))
    first = next(k for k, _, r in on if r.accepted)
    # 10 m a frame against a ~280 m footprint: 30 % is 9 frames of motion
    assert 8 <= first <= 11
    assert on[first][2].mode == "reloc"
    assert all(err < 3.0 for _, err, r in on if r.accepted)
    wrong = _first_fix_flight(m, f, on_cfg, (-130.0, -40.0))
    assert not any(r.accepted for _, _, r in wrong)


def test_published_covariance_carries_the_grounds_shared_error(maps) -> None:
    """Fixes of one ground share one error: the published covariance stays above beta x
    their mean claim, while the filter (and so every estimate and decision) is unchanged."""
    m, f = maps
    pipes = {on: build_localization_pipeline(LocalizationConfig(report_shared_ground_error=on), m, CAM, FakeClock(),
                                             ground_alt_msl_m=300.0) for on in (True, False)}
    claims: list[np.ndarray] = []
    raised = 0
    for k in range(12):
        t = 1000 * MS + k * 100 * MS
        h = 1.6 * H - 0.06 * H * k  # descending: later frames claim less than the ground's earlier ones
        R = ned_from_camera(0.01, -0.02, 0.3, CAM.body_from_camera)
        img, _ = render_view(f, CAM, 0.0, -60.0 + 0.8 * k, h, R)
        reps = {}
        for on, pipe in pipes.items():
            pipe.on_attitude(t, 0.01, -0.02, 0.3)
            pipe.on_altitude(t, h, h + 300.0)
            reps[on] = pipe.on_frame(t, img)
        assert reps[True].accepted == reps[False].accepted
        if reps[True].accepted:
            r = reps[True]
            claims.append(np.array([[r.cov_nn, r.cov_ne], [r.cov_ne, r.cov_ee]]))
        on, off = pipes[True].output(t), pipes[False].output(t)
        assert (on.lat_deg, on.lon_deg) == (off.lat_deg, off.lon_deg)
        est = pipes[True].ekf.estimate(t)
        if est is None:  # no fix yet, no prior: nothing to compare
            continue
        filt = est.cov_ne
        np.testing.assert_allclose([off.cov_nn, off.cov_ne, off.cov_ee], [filt[0, 0], filt[0, 1], filt[1, 1]])
        if not claims:
            continue
        # every fix of this 9 m flight lies on one ~250-370 m footprint's ground
        floor = 0.7 * np.mean(claims, axis=0)
        published = np.array([[on.cov_nn, on.cov_ne], [on.cov_ne, on.cov_ee]])
        assert np.linalg.eigvalsh(published - floor).min() >= -1e-9
        assert np.linalg.eigvalsh(published - filt).min() >= -1e-9
        raised += bool(np.trace(published) > np.trace(filt) + 1e-9)
    assert len(claims) >= 3
    assert raised >= 1  # somewhere the filter alone claims less than its ground's shared error
