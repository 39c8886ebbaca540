"""Synthetic worlds: a deterministic, georeferenced orthophoto of fields, roads,
tracks, buildings, forest and water, rendered for two dates of the same ground.

The layout (field boundaries, roads, buildings, forest, water) is drawn from the
seed once; each date then renders it with its own season (crop colours, foliage),
lighting (gain, colour cast, sun azimuth -> shadows) and real changes (new
buildings, re-sown fields, a new track). The output is a pair directory just
like the shared cross-date pairs: `map.tif` (the map date), `flight.tif` (the
flight date), `change.png` and `pair.yaml`, in the UTM zone of the origin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from gps_denied_onboard.components.c12_sim.errors import SimError

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

# Crop palettes (BGR, 0..1) per season: a field keeps its crop index unless re-sown.
_CROPS_SUMMER = np.array(
    [[0.20, 0.55, 0.35], [0.25, 0.62, 0.55], [0.30, 0.50, 0.45], [0.35, 0.70, 0.75], [0.22, 0.45, 0.30],
     [0.40, 0.55, 0.60], [0.18, 0.40, 0.25], [0.45, 0.65, 0.70]], dtype=np.float32)
_CROPS_AUTUMN = np.array(
    [[0.30, 0.45, 0.55], [0.25, 0.40, 0.50], [0.35, 0.55, 0.65], [0.28, 0.35, 0.42], [0.32, 0.50, 0.58],
     [0.40, 0.52, 0.60], [0.22, 0.30, 0.38], [0.45, 0.60, 0.70]], dtype=np.float32)


@dataclass(frozen=True)
class WorldSpec:
    """What to generate: size in pixels, ground sample distance, where on Earth."""

    seed: int = 0
    size_px: int = 2048
    gsd_m: float = 0.5
    origin_lat_deg: float = 47.60
    origin_lon_deg: float = 19.30
    ground_alt_msl_m: float = 120.0

    def __post_init__(self) -> None:
        if not 256 <= self.size_px <= 8192:
            raise SimError("size_px must be in [256, 8192]", field="size_px", value=self.size_px)
        if not 0.05 <= self.gsd_m <= 50.0:
            raise SimError("gsd_m must be in [0.05, 50]", field="gsd_m", value=self.gsd_m)


@dataclass(frozen=True)
class _DateStyle:
    crops: npt.NDArray[np.float32]
    foliage: tuple[float, float, float]
    gain: float
    cast: tuple[float, float, float]
    sun_azimuth_deg: float
    shadow_len_m: float
    changed: bool


@dataclass(frozen=True, eq=False)
class _Layout:
    labels: npt.NDArray[np.int32]  # field id per pixel
    crop: npt.NDArray[np.int32]  # crop index per field
    theta: npt.NDArray[np.float32]
    period_px: npt.NDArray[np.float32]
    forest: npt.NDArray[np.bool_]
    water: npt.NDArray[np.bool_]
    roads: list[npt.NDArray[np.int32]]
    tracks: list[npt.NDArray[np.int32]]
    buildings: list[tuple[npt.NDArray[np.float32], tuple[float, float, float], float]]
    new_buildings: list[tuple[npt.NDArray[np.float32], tuple[float, float, float], float]]
    new_track: npt.NDArray[np.int32]
    resown: npt.NDArray[np.bool_]


def _noise(rng: np.random.Generator, size: int, cell_px: float) -> F32:
    n = max(2, int(math.ceil(size / cell_px)) + 1)
    small = rng.random((n, n), dtype=np.float32)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _fractal(rng: np.random.Generator, size: int, cells: tuple[float, ...]) -> F32:
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    for c in cells:
        out += amp * (_noise(rng, size, c) - 0.5)
        amp *= 0.55
    return out


def _curve(rng: np.random.Generator, size: int) -> npt.NDArray[np.int32]:
    """A smooth random curve crossing the square from one side to the other."""
    side = rng.integers(0, 2)
    a, b = rng.uniform(0.1, 0.9, 2) * size
    pts = np.array([[0.0, a], [size, b]]) if side == 0 else np.array([[a, 0.0], [b, size]])
    ctrl = rng.uniform(0.2, 0.8, (2, 2)) * size
    t = np.linspace(0, 1, 200)[:, None]
    p0, p3 = pts
    p1, p2 = ctrl
    curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t * t * p2 + t**3 * p3
    return curve.astype(np.int32).reshape(-1, 1, 2)


def _building(rng: np.random.Generator, cx: float, cy: float, gsd: float, angle: float):  # type: ignore[no-untyped-def]
    w = rng.uniform(8, 22) / gsd
    h = rng.uniform(7, 14) / gsd
    box = cv2.boxPoints(((cx, cy), (w, h), math.degrees(angle))).astype(np.float32)
    roof = [(0.25, 0.28, 0.62), (0.45, 0.45, 0.48), (0.30, 0.38, 0.50), (0.62, 0.62, 0.60)][rng.integers(0, 4)]
    height_m = float(rng.uniform(4, 12))
    return box, roof, height_m


def _layout(spec: WorldSpec) -> _Layout:
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 1]))
    s = spec.size_px
    field_px = 180.0 / spec.gsd_m  # fields ~180 m
    n = max(2, int(round(s / field_px)))
    labels = np.zeros((s, s), np.int32)
    jitter = rng.uniform(-0.3, 0.3, (n + 1, n + 1, 2)) * (s / n)
    grid = np.stack(np.meshgrid(np.arange(n + 1), np.arange(n + 1)), -1) * (s / n) + jitter
    grid[0, :, 1] = grid[-1, :, 1] = 0.0  # keep the outer border straight
    grid[0, :, 1], grid[-1, :, 1] = -5, s + 5
    grid[:, 0, 0], grid[:, -1, 0] = -5, s + 5
    fid = 0
    for i in range(n):
        for j in range(n):
            quad = np.array([grid[i, j], grid[i, j + 1], grid[i + 1, j + 1], grid[i + 1, j]], np.int32)
            cv2.fillPoly(labels, [quad], fid)
            fid += 1
    crop = rng.integers(0, len(_CROPS_SUMMER), fid).astype(np.int32)
    theta = rng.uniform(0, math.pi, fid).astype(np.float32)
    period = (rng.uniform(2.0, 6.0, fid) / spec.gsd_m).astype(np.float32)
    low = _fractal(rng, s, (s / 3.0, s / 6.0, s / 12.0))
    forest = low > np.quantile(low, 0.80)
    low2 = _fractal(rng, s, (s / 2.5, s / 5.0))
    water = (low2 < np.quantile(low2, 0.05)) & ~forest
    roads = [_curve(rng, s) for _ in range(2)]
    tracks = []
    for _ in range(4):
        i, j = rng.integers(0, n, 2)
        tracks.append(np.array([grid[i, j], grid[i, j + 1], grid[i + 1, j + 1]], np.int32).reshape(-1, 1, 2))
    buildings = []
    for road in roads:
        for k in rng.choice(len(road), size=min(len(road), 14), replace=False):
            (x, y) = road[k, 0]
            d = road[min(k + 1, len(road) - 1), 0] - road[max(k - 1, 0), 0]
            ang = math.atan2(float(d[1]), float(d[0]))
            off = rng.choice([-1, 1]) * rng.uniform(14, 30) / spec.gsd_m
            bx, by = x - math.sin(ang) * off, y + math.cos(ang) * off
            buildings.append(_building(rng, bx, by, spec.gsd_m, ang))
    new_buildings = []
    hub = rng.uniform(0.25, 0.75, 2) * s
    for _ in range(6):
        c = hub + rng.normal(0, 40 / spec.gsd_m, 2)
        new_buildings.append(_building(rng, float(c[0]), float(c[1]), spec.gsd_m, float(rng.uniform(0, math.pi))))
    new_track = _curve(rng, s)
    resown = rng.random(fid) < 0.5
    return _Layout(labels, crop, theta, period, forest, water, roads, tracks, buildings, new_buildings, new_track, resown)


def _render(spec: WorldSpec, lay: _Layout, style: _DateStyle, date_seed: int) -> U8:
    s = spec.size_px
    rng_tex = np.random.default_rng(np.random.SeedSequence([spec.seed, 2]))  # ground texture shared by dates
    rng_date = np.random.default_rng(np.random.SeedSequence([spec.seed, 3, date_seed]))
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    lab = lay.labels
    crop = lay.crop.copy()
    if style.changed:
        crop = np.where(lay.resown, (crop + 3) % len(style.crops), crop).astype(np.int32)
    base = style.crops[crop][lab]  # s x s x 3
    phase = (xx * np.cos(lay.theta)[lab] + yy * np.sin(lay.theta)[lab]) / lay.period_px[lab]
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * phase)
    grain = _fractal(rng_tex, s, (max(2.0, 3 / spec.gsd_m), max(2.0, 12 / spec.gsd_m), max(4.0, 60 / spec.gsd_m)))
    img = base * (0.85 + 0.18 * stripes[..., None]) * (1.0 + 0.35 * grain[..., None])
    # Forest: blotchy canopy with the date's foliage colour.
    canopy = _fractal(rng_tex, s, (max(2.0, 4 / spec.gsd_m), max(2.0, 10 / spec.gsd_m)))
    fol = np.array(style.foliage, np.float32) * (0.75 + 0.9 * canopy[..., None])
    img = np.where(lay.forest[..., None], fol, img)
    ripple = _fractal(rng_date, s, (max(2.0, 20 / spec.gsd_m),))
    water_col = np.array([0.45, 0.30, 0.15], np.float32) * (1.0 + 0.2 * ripple[..., None])
    img = np.where(lay.water[..., None], water_col, img)
    img = np.clip(img, 0, 1)
    px = 1.0 / spec.gsd_m
    for track in lay.tracks + ([lay.new_track] if style.changed else []):
        cv2.polylines(img, [track], False, (0.42, 0.55, 0.62), max(1, int(round(2.5 * px))), cv2.LINE_AA)
    for road in lay.roads:
        cv2.polylines(img, [road], False, (0.40, 0.40, 0.40), max(2, int(round(7 * px))), cv2.LINE_AA)
        cv2.polylines(img, [road], False, (0.75, 0.75, 0.75), max(1, int(round(0.3 * px))), cv2.LINE_AA)
    az = math.radians(style.sun_azimuth_deg)
    buildings = lay.buildings + (lay.new_buildings if style.changed else [])
    for box, _, height in buildings:  # shadows first, then roofs on top
        shift = np.array([math.sin(az), -math.cos(az)], np.float32) * (style.shadow_len_m * height / 10.0) * px
        shadow = np.concatenate([box, box + shift]).astype(np.float32)
        hull = cv2.convexHull(shadow).astype(np.int32)
        cv2.fillPoly(img, [hull], (0.10, 0.10, 0.12), cv2.LINE_AA)
    for box, roof, _ in buildings:
        cv2.fillPoly(img, [box.astype(np.int32)], roof, cv2.LINE_AA)
        ridge = box.mean(axis=0)
        cv2.line(img, tuple(((box[0] + box[1]) / 2).astype(int)), tuple(ridge.astype(int)), (0.2, 0.2, 0.2), 1)
    img = img * style.gain * np.array(style.cast, np.float32)
    img += rng_date.normal(0.0, 0.01, img.shape).astype(np.float32)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _styles(spec: WorldSpec) -> tuple[_DateStyle, _DateStyle]:
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 4]))
    map_date = _DateStyle(_CROPS_SUMMER, (0.12, 0.32, 0.16), 1.0, (1.0, 1.0, 1.0),
                          float(rng.uniform(120, 160)), 8.0, False)
    flight_date = _DateStyle(
        _CROPS_AUTUMN, (0.12, 0.30, 0.36), float(rng.uniform(0.85, 1.15)),
        (float(rng.uniform(0.92, 1.05)), 1.0, float(rng.uniform(0.98, 1.1))),
        float(rng.uniform(200, 250)), 14.0, True,
    )
    return map_date, flight_date


def utm_epsg(lat_deg: float, lon_deg: float) -> int:
    """The EPSG code of the UTM zone holding (lat, lon)."""
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return (32600 if lat_deg >= 0 else 32700) + zone


def generate_world(spec: WorldSpec, out_dir: str | Path) -> Path:
    """Write a synthetic pair directory (map.tif, flight.tif, change.png, pair.yaml); returns it."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.warp import transform as warp_transform

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lay = _layout(spec)
    map_style, flight_style = _styles(spec)
    map_img = _render(spec, lay, map_style, 0)
    flight_img = _render(spec, lay, flight_style, 1)
    change = np.zeros((spec.size_px, spec.size_px), np.uint8)
    for box, _, _ in lay.new_buildings:
        cv2.fillPoly(change, [box.astype(np.int32)], 255)
    cv2.polylines(change, [lay.new_track], False, 255, max(1, int(round(2.5 / spec.gsd_m))))
    epsg = utm_epsg(spec.origin_lat_deg, spec.origin_lon_deg)
    xs, ys = warp_transform("EPSG:4326", f"EPSG:{epsg}", [spec.origin_lon_deg], [spec.origin_lat_deg])
    half = spec.size_px * spec.gsd_m / 2.0
    # Snap the corner to a whole multiple of the GSD so the geotransform text is tidy and stable.
    x0 = round((xs[0] - half) / spec.gsd_m) * spec.gsd_m
    y0 = round((ys[0] + half) / spec.gsd_m) * spec.gsd_m
    affine = Affine(spec.gsd_m, 0.0, x0, 0.0, -spec.gsd_m, y0)
    for name, img in (("map.tif", map_img), ("flight.tif", flight_img)):
        profile = {
            "driver": "GTiff", "width": spec.size_px, "height": spec.size_px, "count": 3, "dtype": "uint8",
            "crs": f"EPSG:{epsg}", "transform": affine, "compress": "deflate", "photometric": "RGB",
        }
        with rasterio.open(out / name, "w", **profile) as ds:
            ds.write(np.transpose(img[..., ::-1], (2, 0, 1)))
    cv2.imwrite(str(out / "change.png"), change)
    pair = {
        "dataset": "gps_denied_onboard synthetic world",
        "pair_id": f"synthetic_seed{spec.seed}",
        "map_image": "map.tif",
        "flight_image": "flight.tif",
        "change_mask": "change.png",
        "gsd_m": float(spec.gsd_m),
        "crs": f"EPSG:{epsg}",
        "geotransform_gdal": [float(x0), float(spec.gsd_m), 0.0, float(y0), 0.0, -float(spec.gsd_m)],
        "ground_alt_msl_m": float(spec.ground_alt_msl_m),
        "dates_note": "map date: summer, sun from the south-east; flight date: autumn, other sun, re-sown "
                      "fields, new buildings and a new track",
        "alignment": {"measured_local_median_px": 0.0, "measured_local_p90_px": 0.0},
        "world_spec": {
            "seed": spec.seed, "size_px": spec.size_px, "gsd_m": spec.gsd_m,
            "origin_lat_deg": spec.origin_lat_deg, "origin_lon_deg": spec.origin_lon_deg,
        },
    }
    (out / "pair.yaml").write_text(yaml.safe_dump(pair, sort_keys=False), encoding="utf-8")
    return out
