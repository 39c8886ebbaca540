"""Registration benchmark: how well each matcher registers a cross-date frame to the map.

For every shared cross-date pair (and a synthetic world), frames are rendered from the
*flight-date* image at known random poses (half the map's GSD, attitude up to ~6 deg,
any heading), the telemetry attitude is perturbed (noise + bias), and each matcher
registers the frame against the *map-date* image from a prior `--prior-px` map pixels
off. Reported per pair and matcher: median / p95 error in map pixels, the share of
frames within 3 px, 3-sigma coverage (radial, as the flight benchmark scores it) of the
accepted results, and the mean time per frame.

Matchers:
  oc-pose   production C7: doubled-angle gradient-orientation correlation + block
            refinement + MAP pose solve with attitude/altitude priors
  oc-trans  the same correlation, translation only (telemetry attitude trusted)
  ncc       plain intensity normalised cross-correlation (TM_CCOEFF_NORMED), translation only
  sift      SIFT + ratio test + RANSAC similarity on the ortho vs the map window

Usage: PYTHONPATH=python:. python bench/localization_bench.py [--frames 12] [--pairs levir_test_1 ...]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from gps_denied_onboard._types import CameraModel, EnuFrame, LatLonAlt, ned_from_camera
from gps_denied_onboard.components.c7_geo_registration import (
    GeoRasterMap,
    GeoRegistrar,
    InMemoryMap,
    RegistrationConfig,
    render_view,
    to_gray,
)
from tests.integration.localization_flightgen import synthetic_world_pair

CAM = CameraModel(640, 480, 457.0, 457.0, 319.5, 239.5)
MATCHERS = ("oc-pose", "oc-trans", "ncc", "sift")


def _translation_only(reg: GeoRegistrar, ortho, prior_e: float, prior_n: float, sigma: float, method: str):
    """(east, north) of the camera from an intensity or SIFT match of the ortho, or None."""
    g = ortho.gsd_m
    th, tw = ortho.image.shape
    radius = int(math.ceil(3 * sigma / g)) + 2
    cx = prior_e + ortho.east_min_rel + tw * g / 2.0
    cy = prior_n + ortho.north_max_rel - th * g / 2.0
    patch = reg.map.read_patch(cx, cy, tw + 2 * radius, th + 2 * radius, g)
    search = to_gray(patch.image)
    if method == "ncc":
        res = cv2.matchTemplate(search, ortho.image, cv2.TM_CCOEFF_NORMED)
        _, _, _, (x, y) = cv2.minMaxLoc(res)
        dx, dy = float(x), float(y)
    else:
        sift = cv2.SIFT_create(nfeatures=1500)
        mask = (ortho.valid * 255).astype(np.uint8)
        k1, d1 = sift.detectAndCompute(ortho.image, mask)
        k2, d2 = sift.detectAndCompute(search, None)
        if d1 is None or d2 is None or len(k1) < 4 or len(k2) < 4:
            return None
        matches = cv2.BFMatcher().knnMatch(d1, d2, k=2)
        good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.8 * n.distance]
        if len(good) < 6:
            return None
        src = np.float32([k1[m.queryIdx].pt for m in good])
        dst = np.float32([k2[m.trainIdx].pt for m in good])
        A, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if A is None or inl is None or int(inl.sum()) < 6:
            return None
        dx, dy = float(A[0, 2]), float(A[1, 2])  # where ortho pixel (0, 0) lands
    e00, n00 = patch.pixel_to_en(dx, dy)
    oe, on = ortho.pixel_to_rel_en(0.0, 0.0)
    return float(e00 - oe), float(n00 - on)


def run_pair(name: str, map_src, flight_src, frames: int, prior_px: float, att_noise: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    g = map_src.native_gsd_m
    h = 0.5 * g * CAM.fx
    e0, n0, e1, n1 = map_src.bounds_en_m
    regs = {"oc-pose": GeoRegistrar(map_src, CAM),
            "oc-trans": GeoRegistrar(map_src, CAM, RegistrationConfig(pose_solve=False))}
    out: dict[str, dict[str, list[float]]] = {m: {"err": [], "cover": [], "ms": []} for m in MATCHERS}
    bias = rng.normal(0, att_noise, 3)
    for _ in range(frames):
        e = rng.uniform(e0 + 0.6 * h, e1 - 0.6 * h)
        n = rng.uniform(n0 + 0.6 * h, n1 - 0.6 * h)
        att = (*rng.normal(0, 0.05, 2), rng.uniform(-math.pi, math.pi))
        R = ned_from_camera(*att, CAM.body_from_camera)
        img, _ = render_view(flight_src, CAM, e, n, h, R)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        Rt = ned_from_camera(*(a + b + rng.normal(0, att_noise / 3) for a, b in zip(att, bias, strict=True)),
                             CAM.body_from_camera)
        pe, pn = e + rng.normal(0, prior_px * g), n + rng.normal(0, prior_px * g)
        for m in MATCHERS:
            reg = regs.get(m, regs["oc-pose"])
            t0 = time.perf_counter()
            ortho, field = reg.make_ortho(img, Rt, h, 0)
            cov = None
            if m.startswith("oc"):
                res = reg.register(ortho, field, 0, pe, pn, prior_px * g * 1.5)
                est = (res.east_m, res.north_m) if res.ok and res.distinctiveness >= 0.22 else None
                cov = res.cov_ne if est else None
            else:
                est = _translation_only(reg, ortho, pe, pn, prior_px * g * 1.5, m)
            out[m]["ms"].append((time.perf_counter() - t0) * 1e3)
            if est is None:
                out[m]["err"].append(math.inf)
                continue
            d = np.array([est[1] - n, est[0] - e])
            out[m]["err"].append(float(np.hypot(*d)) / g)
            if cov is not None:
                out[m]["cover"].append(float(np.hypot(*d)) <= 3.0 * math.sqrt(float(np.linalg.eigvalsh(cov).max())))
    rows = {}
    for m, v in out.items():
        err = np.array(v["err"])
        fin = err[np.isfinite(err)]
        rows[m] = {
            "median_px": float(np.median(fin)) if fin.size else math.nan,
            "p95_px": float(np.percentile(fin, 95)) if fin.size else math.nan,
            "within3": float(np.mean(err <= 3.0)),
            "cover3": float(np.mean(v["cover"])) if v["cover"] else math.nan,
            "ms": float(np.mean(v["ms"])),
        }
    return {"pair": name, "gsd_m": g, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--pairs", nargs="*", default=None)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--prior-px", type=float, default=10.0)
    ap.add_argument("--att-noise-deg", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    att = math.radians(args.att_noise_deg)
    results = []
    a, b = synthetic_world_pair(args.seed + 100)
    frame = EnuFrame(LatLonAlt(47.0, 19.0, 0.0))
    if args.pairs is None or "synthetic" in args.pairs:
        results.append(run_pair("synthetic", InMemoryMap(a, frame, -450.0, 450.0, 1.0),
                                InMemoryMap(b, frame, -450.0, 450.0, 1.0), args.frames, args.prior_px, att, args.seed))
    root = args.data / "crossdate"
    names = sorted(p.name for p in root.iterdir() if (p / "pair.yaml").is_file()) if root.is_dir() else []
    for name in names:
        if args.pairs is not None and name not in args.pairs:
            continue
        meta = yaml.safe_load((root / name / "pair.yaml").read_text())
        results.append(run_pair(name, GeoRasterMap(root / name / meta["map_image"]),
                                GeoRasterMap(root / name / meta["flight_image"]), args.frames, args.prior_px, att,
                                args.seed))
    print(f"frames/pair={args.frames} prior={args.prior_px} px attitude noise={args.att_noise_deg} deg (+bias)")
    print("| pair | matcher | median px | p95 px | within 3 px | 3σ coverage | ms/frame |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for m, v in r["rows"].items():
            cover = "" if math.isnan(v["cover3"]) else f"{100 * v['cover3']:.0f} %"
            print(f"| {r['pair']} | {m} | {v['median_px']:.2f} | {v['p95_px']:.2f} | {100 * v['within3']:.0f} % | "
                  f"{cover} | {v['ms']:.0f} |")
    for m in MATCHERS:
        med = [r["rows"][m]["median_px"] for r in results]
        w3 = [r["rows"][m]["within3"] for r in results]
        print(f"| **all** | {m} | {np.nanmedian(med):.2f} | | {100 * np.mean(w3):.0f} % | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
