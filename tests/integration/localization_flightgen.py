"""A small flight synthesiser for the localization tests and bench: renders nadir-ish
frames from one georeferenced image (the *flight* date) along a lawn-mower track,
with noisy autopilot attitude/altitude, written as a gdn-flight/1 dataset. The
localizer is then run against the other date's image (the *map*)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, LatLonAlt, MapSource, ned_from_camera
from gps_denied_onboard.components.c7_geo_registration import render_view
from gps_denied_onboard.dataset import FlightMeta, write_flight

FrameHook = Callable[[int, npt.NDArray[np.uint8]], npt.NDArray[np.uint8] | None]


def default_camera() -> CameraModel:
    return CameraModel(640, 480, 457.0, 457.0, 319.5, 239.5)  # ~70 degrees horizontal FOV


def synthesize_flight(
    world: MapSource,
    out_dir: Path,
    *,
    gsd_m: float,
    seconds: float = 12.0,
    rate_hz: float = 10.0,
    seed: int = 0,
    att_noise_rad: float = 0.008,
    att_bias_rad: float = 0.01,
    camera: CameraModel | None = None,
    frame_hook: FrameHook | None = None,
    ground_alt_msl_m: float = 100.0,
    prior_sigma_m: float | None = None,
    ext: str = "jpg",
) -> Path:
    """Render a flight whose image ground sample distance is about half of `gsd_m`."""
    rng = np.random.default_rng(seed)
    cam = camera or default_camera()
    height = 0.5 * gsd_m * cam.fx  # image gsd = gsd_m / 2
    e0, n0, e1, n1 = world.bounds_en_m
    margin = 0.8 * height
    speed = min(15.0 * gsd_m, max(3.0, (e1 - e0 - 2 * margin) / seconds))
    heading = rng.uniform(0, 2 * math.pi)
    # start somewhere the whole straight leg stays inside the map
    length = speed * seconds
    for _ in range(200):
        se, sn = rng.uniform(e0 + margin, e1 - margin), rng.uniform(n0 + margin, n1 - margin)
        ee, en = se + math.sin(heading) * length, sn + math.cos(heading) * length
        if e0 + margin < ee < e1 - margin and n0 + margin < en < n1 - margin:
            break
        heading = rng.uniform(0, 2 * math.pi)
    n_frames = int(seconds * rate_hz)
    t0 = 1_000_000_000
    ts = t0 + (np.arange(n_frames) * (1e9 / rate_hz)).astype(np.int64)
    frames = []
    gt, att, alt = [], [], []
    bias = rng.normal(0, att_bias_rad, 3)
    for k, t in enumerate(ts):
        s = k / rate_hz
        e = se + math.sin(heading) * speed * s + 2.0 * gsd_m * math.sin(0.5 * s)
        n = sn + math.cos(heading) * speed * s
        roll = 0.04 * math.sin(0.9 * s + 1.0)
        pitch = 0.03 * math.sin(0.7 * s)
        yaw = math.remainder(heading + 0.05 * math.sin(0.3 * s), 2 * math.pi)
        R = ned_from_camera(roll, pitch, yaw, cam.body_from_camera)
        img, _ = render_view(world, cam, e, n, height, R)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if frame_hook is not None:
            hooked = frame_hook(k, img)
            img = img if hooked is None else hooked
        frames.append((int(t), img))
        p = world.frame.to_geodetic((e, n, 0.0))
        gt.append([p.lat_deg, p.lon_deg, ground_alt_msl_m + height, roll, pitch, yaw])
        noisy = np.array([roll, pitch, yaw]) + bias + rng.normal(0, att_noise_rad, 3)
        att.append([noisy[0], noisy[1], math.remainder(noisy[2], 2 * math.pi)])
        h_meas = height * (1 + rng.normal(0, 0.01))
        alt.append([h_meas, ground_alt_msl_m + h_meas])
    meta = FlightMeta("gdn-flight/1", "multirotor", ground_alt_msl_m, "synthetic (localization_flightgen)")
    prior = None
    if prior_sigma_m is not None:
        p = world.frame.to_geodetic((se + rng.normal(0, prior_sigma_m / 2), sn + rng.normal(0, prior_sigma_m / 2), 0.0))
        prior = (ts[:1], np.array([[p.lat_deg, p.lon_deg, prior_sigma_m]]))
    return write_flight(out_dir, meta, cam, frames, attitude=(ts, np.array(att)), altitude=(ts, np.array(alt)),
                        groundtruth=(ts, np.array(gt)), prior=prior, ext=ext, overwrite=True)


def track_errors_m(flight_dir: Path, out_dir: Path, map_frame_origin: LatLonAlt | None = None) -> dict[str, float]:
    """Score a replay: horizontal error of fixes and track against ground truth (metres),
    3-sigma coverage and fix rate."""
    from gps_denied_onboard._types import EnuFrame
    from gps_denied_onboard.dataset import read_estimates, read_flight

    fl = read_flight(flight_dir, check_images=False)
    est = read_estimates(out_dir)
    assert fl.groundtruth is not None
    origin = map_frame_origin or LatLonAlt(float(fl.groundtruth.values[0, 0]), float(fl.groundtruth.values[0, 1]), 0.0)
    enu = EnuFrame(origin)

    def ne(lat: float, lon: float) -> npt.NDArray[np.float64]:
        v = enu.to_enu(LatLonAlt(lat, lon, 0.0))
        return np.array([v[1], v[0]])

    fx = est.fixes
    errs, cover = [], []
    acc = np.flatnonzero(fx.accepted)
    for i in acc.tolist():
        g = fl.groundtruth.interpolate(int(fx.t_ns[i]))
        d = ne(fx.lat[i], fx.lon[i]) - ne(g[0], g[1])
        c = np.array([[fx.cov[i, 0], fx.cov[i, 1]], [fx.cov[i, 1], fx.cov[i, 2]]])
        errs.append(float(np.hypot(*d)))
        cover.append(float(d @ np.linalg.solve(c, d)) <= 11.83)
    tr = est.track
    terr, tcover = [], []
    for i in range(len(tr)):
        if tr.source[i] == "none":
            continue
        g = fl.groundtruth.interpolate(int(tr.t_ns[i]))
        d = ne(tr.lat[i], tr.lon[i]) - ne(g[0], g[1])
        c = np.array([[tr.cov[i, 0], tr.cov[i, 1]], [tr.cov[i, 1], tr.cov[i, 2]]])
        terr.append(float(np.hypot(*d)))
        tcover.append(float(d @ np.linalg.solve(c, d)) <= 11.83)
    n_frames = len(fl.frames)
    return {
        "fix_rate": len(acc) / max(n_frames, 1),
        "fix_cep50_m": float(np.median(errs)) if errs else math.nan,
        "fix_cep95_m": float(np.percentile(errs, 95)) if errs else math.nan,
        "fix_max_m": float(np.max(errs)) if errs else math.nan,
        "fix_cover3": float(np.mean(cover)) if cover else math.nan,
        "track_cep50_m": float(np.median(terr)) if terr else math.nan,
        "track_cover3": float(np.mean(tcover)) if tcover else math.nan,
        "track_rows": float(len(tr)),
        "track_rows_with_position": float(len(terr)),
    }


def synthetic_world_pair(seed: int, size_px: int = 900) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Two 'dates' of one procedural landscape (fields, roads, buildings, trees): the
    second re-colours every field independently (crops/seasons; some flip contrast),
    moves the illumination, adds new buildings and removes some trees."""
    import cv2

    rng = np.random.default_rng(seed)
    n = size_px
    labels = np.zeros((n, n), np.int32)
    # fields: a jittered grid of quadrilaterals
    k = 0
    step = n // 7
    for gy in range(-1, 8):
        for gx in range(-1, 8):
            k += 1
            cx, cy = gx * step + rng.integers(0, step), gy * step + rng.integers(0, step)
            w, h = rng.integers(step // 2, step * 2), rng.integers(step // 2, step * 2)
            ang = rng.uniform(0, 180)
            box = cv2.boxPoints(((float(cx), float(cy)), (float(w), float(h)), float(ang))).astype(np.int32)
            cv2.fillPoly(labels, [box], k)
    base_a = rng.uniform(60, 200, k + 1)
    base_b = np.where(rng.random(k + 1) < 0.3, 255 - base_a, rng.uniform(60, 200, k + 1))
    tex_a = rng.normal(0, 8, (n, n))
    tex_b = rng.normal(0, 8, (n, n))
    a = base_a[labels] + tex_a
    b = base_b[labels] + tex_b
    # roads (same both dates, slightly different brightness)
    for _ in range(6):
        p1 = tuple(int(v) for v in rng.integers(0, n, 2))
        p2 = tuple(int(v) for v in rng.integers(0, n, 2))
        width = int(rng.integers(3, 7))
        cv2.line(a, p1, p2, 215.0, width)
        cv2.line(b, p1, p2, 190.0, width)
    # buildings (old in both, new only in b) and trees (only in a for some)
    for i in range(120):
        x, y = (int(v) for v in rng.integers(0, n - 20, 2))
        w, h = (int(v) for v in rng.integers(5, 18, 2))
        roof = float(rng.uniform(30, 240))
        if i % 4 != 0:
            cv2.rectangle(a, (x, y), (x + w, y + h), roof, -1)
        cv2.rectangle(b, (x, y), (x + w, y + h), float(rng.uniform(30, 240)), -1)
    for i in range(300):
        x, y = (int(v) for v in rng.integers(0, n, 2))
        r = int(rng.integers(2, 6))
        cv2.circle(a, (x, y), r, 40.0, -1)
        if i % 3:
            cv2.circle(b, (x, y), r, 55.0, -1)
    a = cv2.GaussianBlur(a.astype(np.float32), (0, 0), 0.8)
    b = cv2.GaussianBlur(b.astype(np.float32), (0, 0), 1.0)
    shade = np.linspace(0.85, 1.1, n)[None, :]
    b = b * shade
    tint_a, tint_b = np.array([1.0, 1.05, 0.95]), np.array([0.9, 1.0, 1.1])
    img_a = np.clip(a[..., None] * tint_a, 0, 255).astype(np.uint8)
    img_b = np.clip(b[..., None] * tint_b, 0, 255).astype(np.uint8)
    return img_a, img_b


def write_geotiff(path: Path, image: npt.NDArray[np.uint8], *, easting: float = 500_000.0,
                  northing: float = 5_300_000.0, gsd_m: float = 1.0, epsg: int = 32634) -> Path:
    """A north-up UTM GeoTIFF (BGR image in, RGB bands out)."""
    import rasterio
    from rasterio.transform import from_origin

    rgb = image[..., ::-1].transpose(2, 0, 1)
    with rasterio.open(path, "w", driver="GTiff", height=image.shape[0], width=image.shape[1], count=3,
                       dtype="uint8", crs=f"EPSG:{epsg}", transform=from_origin(easting, northing, gsd_m, gsd_m)) as dst:
        dst.write(rgb)
    return path
