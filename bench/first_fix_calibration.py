"""First-fix consensus calibration: how often the multi-frame rule would accept at a
wrong place versus at the true place, on every flight of a suite run.

Each frame of each flight is orthorectified with its telemetry attitude and altitude
(as the pipeline does) and registered with the pipeline's tracking registrar around
  - the truth ("true place": the window the prior would give if it were right), and
  - six places 90-150 map px off the truth (at least the window radius + 30 px, so the
    truth is never inside the window: any acceptance there is a false first fix),
with the prior window of a 30 m prior (capped at the largest tracking window). The
frames' own odometry (C3 on consecutive orthos) carries the views, as in flight.

Per frame and place it records the single-frame gates (tracking level and the first-fix
level) and the peak candidates; then it replays C9's `FirstFixConsensus` over the
frames in order and counts, per flight:
  single  frames passing today's first-fix rule (relocalisation gates, one frame)
  cons    frames the consensus rule accepts (its own thresholds, from the command line)
  bad     of those, how many are > 10 map px off the truth (at a wrong place: all)
The registrations are saved (`--save`) so threshold variants re-evaluate in seconds
(`--load`).

Usage:
  PYTHONPATH=python:. python bench/first_fix_calibration.py --flights SUITE_OUT/flights --save cal.json
  PYTHONPATH=python:. python bench/first_fix_calibration.py --load cal.json --min-separation 0.3
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gps_denied_onboard._types import LatLonAlt, ned_from_camera
from gps_denied_onboard.clock import FakeClock
from gps_denied_onboard.components.c3_vo import OrthoOdometry, VoConfig
from gps_denied_onboard.components.c7_geo_registration import GeoRasterMap
from gps_denied_onboard.components.c9_integrity import gate_registration
from gps_denied_onboard.components.c9_integrity.consensus import ConsensusConfig, ConsensusView, FirstFixConsensus
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.dataset.flight import read_flight
from gps_denied_onboard.runtime_root.airborne_first_fix import CONSENSUS_CANDIDATES, footprint_side_m
from gps_denied_onboard.runtime_root.airborne_pipeline import LocalizationPipeline

PRIOR_SIGMA_M = 30.0
WRONG_PX = (90.0, 120.0, 150.0, 90.0, 120.0, 150.0)  # magnitudes at 0, 60, ..., 300 degrees
DEAD_RECKON_SIGMA_MPS = 1.0  # per-frame speed uncertainty when odometry fails (the filter carries on)
BAD_PX = 10.0  # the pairs themselves are misregistered by up to ~7 px (LEVIR): beyond that, another place


def collect_flight(path: Path, maps: dict[str, GeoRasterMap]) -> dict[str, Any] | None:
    """Register every frame of one flight around the truth and the wrong places."""
    fl = read_flight(path, check_images=False)
    if fl.groundtruth is None or fl.map_path is None or len(fl.frames) < 3:
        return None
    key = str(fl.map_path)
    if key not in maps:
        maps[key] = GeoRasterMap(key)
    m = maps[key]
    pipe = LocalizationPipeline(LocalizationConfig(), m, fl.camera, FakeClock(0))
    reg, integ = pipe.registrar, pipe.integrity
    vo = OrthoOdometry(VoConfig(attitude_rate_sigma_rad=math.radians(pipe.config.attitude_sigma_deg) / 4))
    frames = []
    for k, fr in enumerate(fl.frames):
        t = fr.t_ns
        gt = fl.groundtruth.interpolate(t)
        r, p, y = fl.attitude.interpolate(t)[:3]
        agl = float(fl.altitude.interpolate(t)[0])
        enu = m.frame.to_enu(LatLonAlt(float(gt[0]), float(gt[1]), 0.0))
        R = ned_from_camera(r, p, y, fl.camera.body_from_camera)
        ortho, field = reg.make_ortho(fl.load_frame(k), R, agl, t)
        meas = vo.step(t, ortho, field)
        off = (R @ fl.camera.body_from_camera.T) @ fl.camera.camera_offset_body_m
        g = ortho.gsd_m
        sigma = min(PRIOR_SIGMA_M, (pipe.config.max_search_radius_px - 2) * g / 3.0)
        radius = math.ceil(3.0 * sigma / g) + 2
        places = [(0.0, 0.0)]
        for i, a in enumerate(WRONG_PX):
            a = max(a, radius + 30.0)
            th = math.radians(60.0 * i)
            places.append((a * math.cos(th) * g, a * math.sin(th) * g))  # (east, north) m
        regs = []
        for de, dn in places:
            res = reg.register(ortho, field, t, enu[0] + off[1] + de, enu[1] + off[0] + dn, sigma,
                               candidates=CONSENSUS_CANDIDATES)
            kw = dict(ok=res.ok, reason=res.reason, texture=res.texture, score=res.score,
                      distinctiveness=res.distinctiveness, n_blocks=res.n_blocks, n_inliers=res.n_inliers,
                      rms_residual_px=res.rms_residual_px, chi2_dof=res.chi2_dof)
            track_ok = gate_registration(replace(integ, min_distinctiveness=0.0), **kw).accepted  # type: ignore[arg-type]
            single_ok = gate_registration(integ, relocalization=True, **kw).accepted  # type: ignore[arg-type]
            regs.append({"track_ok": track_ok, "single_ok": single_ok, "dist": res.distinctiveness,
                         "peaks": [list(c) for c in res.peak_candidates], "radius": res.search_radius_px,
                         "fix_err_px": math.hypot(res.east_m - enu[0], res.north_m - enu[1]) / g if res.ok else None})
        frames.append({"t_ns": t, "truth_ne": [float(enu[1]), float(enu[0])], "gsd_m": g,
                       "footprint_m": footprint_side_m(ortho),
                       "vo": None if meas is None else [meas.d_north_m, meas.d_east_m,
                                                        float(np.trace(meas.cov_d)) / 2.0],
                       "places": regs})
    return {"frames": frames}


def evaluate(run: dict[str, Any], place: int, cfg: ConsensusConfig) -> tuple[int, int, int, int, list[int]]:
    """Replay the consensus over one flight at one place: (frames, single-frame passes,
    consensus passes, consensus passes > BAD_PX off the truth, accepted frame indices)."""
    cons = FirstFixConsensus(cfg)
    n = single = acc = bad = 0
    idx: list[int] = []
    vel: np.ndarray | None = None
    t_prev = None
    for k, f in enumerate(run["frames"]):
        dt = 0.0 if t_prev is None else (f["t_ns"] - t_prev) * 1e-9
        t_prev = f["t_ns"]
        if f["vo"] is not None:  # odometry carries the views
            d = np.asarray(f["vo"][:2])
            vel = d / dt if dt > 0 else vel
            cons.carry(d, 0.0)  # as the pipeline: attitude errors cancel along the chain
        elif vel is not None:  # as the filter would: dead-reckoned at the last speed
            cons.carry(vel * dt, (DEAD_RECKON_SIGMA_MPS * dt) ** 2)
        else:
            cons.clear()
        r = f["places"][place]
        n += 1
        single += int(r["single_ok"])
        if not (r["track_ok"] and r["dist"] >= cfg.min_view_distinctiveness and r["peaks"]):
            continue
        view = ConsensusView.from_peaks(f["t_ns"], tuple(tuple(p) for p in r["peaks"]), f["footprint_m"], f["gsd_m"],
                                        r["radius"])
        if cons.offer(view).accepted:
            acc += 1
            idx.append(k)
            best = view.candidates_ne[0]
            if math.hypot(*(best - np.asarray(f["truth_ne"]))) / f["gsd_m"] > BAD_PX:
                bad += 1
    return n, single, acc, bad, idx


def chain_report(data: dict[str, Any]) -> None:
    """How far a true-place peak carried along the odometry lands from a later frame's
    true-place peak, against the odometry's own error and its claimed sigma (map px),
    by frames between them: why odometry steps add no variance to the tolerance."""
    print(f"{'run':30s} {'gap':>5s} {'n':>4s} | chain px med / p95 / max | odometry error px med | claimed px med")
    for name, run in data.items():
        fr = run["frames"]
        rows = []
        for i in range(len(fr)):
            s, var = np.zeros(2), 0.0
            for k in range(i + 1, len(fr)):
                if fr[k]["vo"] is None:
                    break
                s, var = s + np.asarray(fr[k]["vo"][:2]), var + fr[k]["vo"][2]
                pi, pk = fr[i]["places"][0]["peaks"], fr[k]["places"][0]["peaks"]
                if not pi or not pk:
                    continue
                bi, bk = np.array([pi[0][1], pi[0][0]]), np.array([pk[0][1], pk[0][0]])
                ti, tk = np.asarray(fr[i]["truth_ne"]), np.asarray(fr[k]["truth_ne"])
                g = fr[k]["gsd_m"]
                if max(np.hypot(*(bi - ti)), np.hypot(*(bk - tk))) / g > BAD_PX:
                    continue  # only chains of right peaks
                rows.append((k - i, np.hypot(*(bi + s - bk)) / g, np.hypot(*(s - (tk - ti))) / g, math.sqrt(var) / g))
        r = np.asarray(rows).reshape(-1, 4)
        for lo, hi in ((1, 3), (4, 8), (9, 16), (17, 30)):
            m = (r[:, 0] >= lo) & (r[:, 0] <= hi)
            if m.any():
                c = r[m, 1]
                print(f"{name:30s} {lo:2d}-{hi:<2d} {int(m.sum()):4d} | {np.median(c):5.2f} / {np.percentile(c, 95):5.2f} / "
                      f"{c.max():5.2f} | {np.median(r[m, 2]):5.2f} | {np.median(r[m, 3]):5.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flights", type=Path, help="a suite output's flights folder (one flight per run)")
    ap.add_argument("--runs", nargs="*", help="only these runs")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--load", type=Path)
    d = ConsensusConfig()
    ap.add_argument("--min-separation", type=float, default=d.min_separation)
    ap.add_argument("--tolerance-px", type=float, default=d.tolerance_px)
    ap.add_argument("--rival-ratio", type=float, default=d.rival_score_ratio)
    ap.add_argument("--view-dist", type=float, default=d.min_view_distinctiveness)
    ap.add_argument("--max-chance", type=float, default=d.max_chance)
    ap.add_argument("--any", action="store_true", help="one agreeing independent view suffices")
    ap.add_argument("--chain", action="store_true", help="report the odometry chain's agreement at the truth")
    a = ap.parse_args(argv)
    data: dict[str, Any] = {}
    if a.load:
        data = json.loads(a.load.read_text())
    else:
        if a.flights is None:
            ap.error("--flights or --load")
        maps: dict[str, GeoRasterMap] = {}
        for path in sorted(p for p in a.flights.iterdir() if p.is_dir()):
            if a.runs and path.name not in a.runs:
                continue
            try:
                got = collect_flight(path, maps)
            except (OSError, ValueError) as exc:
                print(f"{path.name}: skipped ({exc})", file=sys.stderr)
                continue
            if got is not None:
                data[path.name] = got
                print(f"{path.name}: {len(got['frames'])} frames", file=sys.stderr)
        if a.save:
            a.save.write_text(json.dumps(data))
    if a.chain:
        chain_report(data)
        return 0
    cfg = ConsensusConfig(min_separation=a.min_separation, tolerance_px=a.tolerance_px,
                          rival_score_ratio=a.rival_ratio, min_view_distinctiveness=a.view_dist, unanimous=not a.any,
                          max_chance=a.max_chance)
    print(f"consensus: separation {cfg.min_separation}, tolerance {cfg.tolerance_px} px, rival ratio "
          f"{cfg.rival_score_ratio}, view distinctiveness {cfg.min_view_distinctiveness}, chance {cfg.max_chance}, "
          f"{'unanimous' if cfg.unanimous else 'any'}")
    print(f"{'run':30s} {'frm':>4s} | true: {'single':>6s} {'cons':>5s} {'bad':>4s} first | "
          f"wrong: {'trials':>6s} {'single':>6s} {'cons':>5s}")
    tot = np.zeros(7, int)
    for name, run in data.items():
        n, s, c, b, idx = evaluate(run, 0, cfg)
        wn = ws = wc = 0
        for place in range(1, len(run["frames"][0]["places"])):
            n2, s2, c2, _, _ = evaluate(run, place, cfg)
            wn, ws, wc = wn + n2, ws + s2, wc + c2
        first = str(idx[0]) if idx else "-"
        print(f"{name:30s} {n:4d} | true: {s:6d} {c:5d} {b:4d} {first:>5s} | wrong: {wn:6d} {ws:6d} {wc:5d}")
        tot += [n, s, c, b, wn, ws, wc]
    n, s, c, b, wn, ws, wc = (int(x) for x in tot)
    print(f"{'total':30s} {n:4d} | true: {s:6d} {c:5d} {b:4d} {'':>5s} | wrong: {wn:6d} {ws:6d} {wc:5d}")
    print(f"pass rate at the true place: single {s / max(n, 1):.3f}, consensus {c / max(n, 1):.3f}; "
          f"at wrong places: single {ws / max(wn, 1):.4f}, consensus {wc / max(wn, 1):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
