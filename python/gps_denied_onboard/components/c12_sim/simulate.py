"""Simulated flights over a co-registered pair: the trajectory, rendered frames
from the flight-date image, autopilot telemetry with errors, an optional position
prior, and the ground truth, written as a gdn-flight/1 dataset. The same spec
and seed give the same bytes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, ned_from_body
from gps_denied_onboard._types.rotation import R_BODY_FROM_CAM_NADIR, rot_x, rot_y
from gps_denied_onboard.components.c12_sim.errors import FlightPlanError
from gps_denied_onboard.components.c12_sim.georaster import GeoRaster, load_georaster
from gps_denied_onboard.components.c12_sim.pairs import Pair
from gps_denied_onboard.components.c12_sim.render import Renderer, project_ground
from gps_denied_onboard.components.c12_sim.sensor import SensorEffects, TelemetryErrors, apply_effects
from gps_denied_onboard.components.c12_sim.trajectory import (
    DT_S,
    G,
    Pattern,
    Trajectory,
    TrajectorySpec,
    make_trajectory,
)
from gps_denied_onboard.dataset import FORMAT_VERSION, FlightMeta, FlightWriter

F64 = npt.NDArray[np.float64]
_T0_NS = 10_000_000_000  # flights start at 10 s on their clock (a zero clock hides off-by-one bugs)


@dataclass(frozen=True)
class CameraSpec:
    """The simulated camera: resolution, horizontal field of view, distortion,
    principal-point offset and the mount (offset in body metres, small tilt)."""

    width: int = 640
    height: int = 480
    hfov_deg: float = 70.0
    distortion: tuple[float, float, float, float] = (-0.08, 0.02, 0.0005, -0.0003)
    principal_offset_px: tuple[float, float] = (3.0, -2.0)
    mount_offset_m: tuple[float, float, float] = (0.10, 0.0, 0.15)
    mount_tilt_deg: tuple[float, float] = (0.0, 0.0)  # about camera x, then camera y

    def model(self) -> CameraModel:
        fx = (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)
        r = R_BODY_FROM_CAM_NADIR @ rot_x(math.radians(self.mount_tilt_deg[0])) @ rot_y(
            math.radians(self.mount_tilt_deg[1]))
        t = np.eye(4)
        t[:3, :3] = r
        t[:3, 3] = self.mount_offset_m
        return CameraModel(
            self.width, self.height, fx, fx, (self.width - 1) / 2.0 + self.principal_offset_px[0],
            (self.height - 1) / 2.0 + self.principal_offset_px[1], self.distortion,
            tuple(float(v) for v in t.ravel()),
        )


@dataclass(frozen=True)
class FlightSpec:
    """Everything that defines a simulated flight (with the pair it flies over)."""

    seed: int = 0
    vehicle: Literal["multirotor", "fixed_wing"] = "multirotor"
    pattern: Pattern = "survey"
    duration_s: float = 20.0
    fps: float = 2.0
    speed_mps: float = 10.0
    agl_m: tuple[float, float] = (100.0, 100.0)  # drawn uniformly, then capped to fit the map
    wind_mps: float = 3.0
    camera: CameraSpec = field(default_factory=CameraSpec)
    effects: SensorEffects = field(default_factory=SensorEffects)
    telemetry: TelemetryErrors = field(default_factory=TelemetryErrors)
    prior_sigma_m: float | None = 30.0
    prior_interval_s: float = 0.0  # 0: one prior at the start only
    image_format: Literal["png", "jpg"] = "jpg"
    jpeg_quality: int = 90
    imu: bool = True

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.fps > 50:
            raise FlightPlanError("fps must be in (0, 50]", field="fps", value=self.fps)
        if self.agl_m[0] <= 0 or self.agl_m[1] < self.agl_m[0]:
            raise FlightPlanError("agl_m must be [low, high] with 0 < low <= high", field="agl_m", value=self.agl_m)
        if self.image_format not in ("png", "jpg"):
            raise FlightPlanError("image_format must be png or jpg", field="image_format", value=self.image_format)


def _max_tilt(spec: FlightSpec) -> float:
    if spec.vehicle == "multirotor":
        return math.radians(20.0)
    return math.radians(35.0 if spec.pattern == "loiter" else 25.0)


def plan(spec: FlightSpec, raster: GeoRaster, renderer: Renderer, rng: np.random.Generator) -> tuple[float, TrajectorySpec, str]:
    """Pick the altitude (capped so the footprint stays on the map) and the flyable area."""
    e0, n0, e1, n1 = raster.inner_bounds_en()
    half_min = min(e1 - e0, n1 - n0) / 2.0
    tilt = _max_tilt(spec)
    agl = float(rng.uniform(*spec.agl_m)) if spec.agl_m[1] > spec.agl_m[0] else float(spec.agl_m[0])
    note = ""
    room = max(0.15 * half_min, 1.0)
    unit = renderer.footprint_radius_m(1.0, tilt)
    if not math.isfinite(unit):
        raise FlightPlanError("the camera sees the horizon at this tilt", field="hfov_deg", value=spec.camera.hfov_deg)
    agl_cap = (half_min - room) / unit * 1.0
    if agl > agl_cap:
        if agl_cap < 10.0:
            raise FlightPlanError("the map is too small for this camera", field="map", value=raster.path.name)
        note = f"altitude capped from {agl:.0f} m to {agl_cap:.0f} m so the footprint stays on the map"
        agl = agl_cap
    r = renderer.footprint_radius_m(agl * 1.03, tilt)
    area = (e0 + r, n0 + r, e1 - r, n1 - r)
    angle = rng.uniform(0, 2 * math.pi)
    wind = (spec.wind_mps * math.cos(angle), spec.wind_mps * math.sin(angle))
    tspec = TrajectorySpec(spec.vehicle, spec.pattern, spec.duration_s + 1.0, spec.speed_mps, agl, area, wind)
    return agl, tspec, note


def _body_rates(rpy: F64) -> F64:
    """Body angular rates from consecutive attitudes (rotation-vector of R_k^T R_k+1 / dt)."""
    n = rpy.shape[0]
    rates = np.zeros((n, 3))
    mats = [ned_from_body(*rpy[i]) for i in range(n)]
    for i in range(n - 1):
        rvec, _ = cv2.Rodrigues(mats[i].T @ mats[i + 1])
        rates[i] = rvec.ravel() / DT_S
    rates[-1] = rates[-2] if n > 1 else 0.0
    return rates


def _telemetry(traj: Trajectory, spec: FlightSpec, ground_alt: float, rng: np.random.Generator,
               t_ns: npt.NDArray[np.int64]) -> dict[str, tuple[npt.NDArray[np.int64], F64]]:
    te = spec.telemetry
    out: dict[str, tuple[npt.NDArray[np.int64], F64]] = {}
    att_idx = np.arange(0, len(traj.t_s), 2)  # 50 Hz
    bias = np.radians([rng.normal(0, te.attitude_bias_deg), rng.normal(0, te.attitude_bias_deg),
                       rng.normal(0, te.yaw_bias_deg)])
    noise = np.radians(te.attitude_noise_deg) * rng.standard_normal((len(att_idx), 3))
    att = traj.rpy[att_idx] + bias + noise
    att[:, 2] = np.angle(np.exp(1j * att[:, 2]))
    out["attitude"] = (t_ns[att_idx], att)
    alt_idx = np.arange(0, len(traj.t_s), 5)  # 20 Hz
    true_agl = traj.pos_enu[alt_idx, 2]
    dt = DT_S * 5
    drift = np.cumsum(rng.standard_normal(len(alt_idx)) * te.baro_drift_m_per_sqrt_s * math.sqrt(dt))
    baro = ground_alt + true_agl + rng.normal(0, te.baro_bias_m) + drift + rng.normal(0, te.baro_noise_m, len(alt_idx))
    if te.rangefinder:
        agl_meas = true_agl + rng.normal(0, te.rangefinder_noise_m, len(alt_idx))
    else:
        agl_meas = baro - ground_alt
    out["altitude"] = (t_ns[alt_idx], np.column_stack([agl_meas, baro]))
    if spec.imu:
        gyro = _body_rates(traj.rpy) + rng.normal(0, te.gyro_noise_rad_s, (len(traj.t_s), 3))
        g = np.array([0.0, 0.0, G])
        acc = np.empty((len(traj.t_s), 3))
        for i in range(len(traj.t_s)):
            acc[i] = ned_from_body(*traj.rpy[i]).T @ (traj.acc_ned[i] - g)
        acc += rng.normal(0, te.accel_noise_m_s2, acc.shape)
        out["imu"] = (t_ns, np.column_stack([gyro, acc]))
    return out


def simulate_flight(pair: Pair, spec: FlightSpec, out_dir: str | Path, *, overwrite: bool = False,
                    map_raster: GeoRaster | None = None, flight_raster: GeoRaster | None = None) -> Path:
    """Render the flight described by `spec` over `pair` into `out_dir` (a gdn-flight/1 dataset)."""
    ground = pair.ground_alt_msl_m
    flight_r = flight_raster or load_georaster(pair.flight_image, ground_alt_m=ground)
    map_r = map_raster or load_georaster(pair.map_image, ground_alt_m=ground)
    camera = spec.camera.model()
    renderer = Renderer(flight_r, camera)
    seq = np.random.SeedSequence([spec.seed, 12])
    rng_plan, rng_tel, rng_wb, rng_prior = (np.random.default_rng(s) for s in seq.spawn(4))
    agl, tspec, note = plan(spec, flight_r, renderer, rng_plan)
    traj = make_trajectory(tspec, rng_plan)
    t_ns = _T0_NS + np.round(traj.t_s * 1e9).astype(np.int64)
    step = max(1, int(round(1.0 / (spec.fps * DT_S))))
    frame_idx = np.arange(0, int(round(spec.duration_s / DT_S)) + 1, step)
    notes = (f"simulated {spec.vehicle} {spec.pattern} over {pair.pair_id} at {agl:.0f} m AGL, "
             f"{spec.speed_mps:g} m/s, seed {spec.seed}") + (f"; {note}" if note else "")
    # The map hint is absolute: a flight directory can then be moved or copied on its own.
    meta = FlightMeta(
        FORMAT_VERSION, spec.vehicle, ground, notes, map=str(map_r.path.resolve()),
        extra={"sim": {"pair_id": pair.pair_id, "pair_dir": str(pair.root.resolve()), "agl_m": round(agl, 3),
                       "spec": _plain(asdict(spec)), "map_mean_gsd_m": map_r.mean_gsd_m}},
    )
    wb = tuple(float(v) for v in 1.0 + spec.effects.white_balance_jitter * rng_wb.standard_normal(3))
    with FlightWriter(out_dir, meta, camera, overwrite=overwrite, rate_hz=spec.fps) as writer:
        gain = 1.0
        coverage: list[float] = []
        for k, i in enumerate(frame_idx):
            image, _gsd = renderer.render(traj.pos_enu[i], traj.rpy[i])
            # Share of the frame showing map (pure black = off the raster); recorded, as the
            # localizer's task gets harder where the footprint leaves the map.
            coverage.append(float(np.count_nonzero(image.max(axis=2))) / (image.shape[0] * image.shape[1]))
            frame_rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 13, k]))
            gain = float(np.clip(gain * (1.0 + spec.effects.exposure_jitter * frame_rng.standard_normal()), 0.6, 1.5))
            blur = _blur_vector(traj, int(i), camera, spec.effects.exposure_time_s)
            image = apply_effects(image, spec.effects, frame_rng, blur_px=blur, gain=gain,
                                  wb=(wb[0], wb[1], wb[2]))
            writer.add_frame(int(t_ns[i]), image, ext=spec.image_format, jpeg_quality=spec.jpeg_quality)
        for name, (ts, vals) in _telemetry(traj, spec, ground, rng_tel, t_ns).items():
            writer.set_stream(name, ts, vals)
        gt_idx = np.arange(0, len(traj.t_s), 2)
        gt = np.empty((len(gt_idx), 6))
        for j, i in enumerate(gt_idx):
            e, n, u = traj.pos_enu[i]
            p = flight_r.frame.to_geodetic((float(e), float(n), float(u)))
            gt[j] = (p.lat_deg, p.lon_deg, ground + u, *traj.rpy[i])
        writer.set_stream("groundtruth", t_ns[gt_idx], gt)
        if spec.prior_sigma_m is not None:
            writer.set_stream("prior", *_prior(traj, spec, flight_r, t_ns, frame_idx, rng_prior))
        meta.extra["sim"]["min_frame_coverage"] = round(min(coverage), 4)
    return Path(out_dir)


def _prior(traj: Trajectory, spec: FlightSpec, raster: GeoRaster, t_ns: npt.NDArray[np.int64],
           frame_idx: npt.NDArray[np.int64], rng: np.random.Generator) -> tuple[npt.NDArray[np.int64], F64]:
    sigma = float(spec.prior_sigma_m or 0.0)
    if spec.prior_interval_s > 0:
        step = max(1, int(round(spec.prior_interval_s / DT_S)))
        idx = np.arange(int(frame_idx[0]), int(frame_idx[-1]) + 1, step)
    else:
        idx = np.array([int(frame_idx[0])])
    rows = np.empty((len(idx), 3))
    for j, i in enumerate(idx):
        e, n, _ = traj.pos_enu[i]
        de, dn = rng.normal(0, sigma, 2) if sigma > 0 else (0.0, 0.0)  # sigma: 1-sigma per axis
        p = raster.frame.to_geodetic((float(e + de), float(n + dn), 0.0))
        rows[j] = (p.lat_deg, p.lon_deg, sigma)
    return t_ns[idx], rows


def _blur_vector(traj: Trajectory, i: int, camera: CameraModel, exposure_s: float) -> tuple[float, float]:
    """Image motion of the ground point at the image centre during the exposure (pixels)."""
    if exposure_s <= 0 or i + 1 >= len(traj.t_s):
        return (0.0, 0.0)
    centre_ray = camera.unproject(np.array([[camera.cx, camera.cy]]))
    from gps_denied_onboard.components.c12_sim.render import camera_pose

    c, r = camera_pose(traj.pos_enu[i], traj.rpy[i], camera)
    ray = r @ centre_ray[0]
    if ray[2] <= 1e-6:
        return (0.0, 0.0)
    s = -c[2] / ray[2]
    north, east = c[0] + s * ray[0], c[1] + s * ray[1]
    u1, v1 = project_ground(np.array([east]), np.array([north]), traj.pos_enu[i + 1], traj.rpy[i + 1], camera)
    scale = exposure_s / DT_S
    return (float(u1[0] - camera.cx) * scale, float(v1[0] - camera.cy) * scale)


def _plain(obj: object) -> object:
    """asdict() output with tuples as lists (yaml.safe_dump friendly)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
