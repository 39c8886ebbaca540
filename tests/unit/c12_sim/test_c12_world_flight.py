"""Synthetic worlds and simulated flights: determinism, two real dates, coverage,
telemetry consistent with the truth, and attitude consistent with the motion."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gps_denied_onboard._types import ned_from_body
from gps_denied_onboard.components.c12_sim import (
    CameraSpec,
    FlightPlanError,
    FlightSpec,
    PairError,
    SensorEffects,
    TelemetryErrors,
    WorldSpec,
    generate_world,
    load_georaster,
    load_pair,
    simulate_flight,
)
from gps_denied_onboard.components.c12_sim.trajectory import G, TrajectorySpec, make_trajectory
from gps_denied_onboard.dataset import read_flight, validate_flight

SMALL_CAM = CameraSpec(width=160, height=120, hfov_deg=60.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_world(WorldSpec(seed=7, size_px=512, gsd_m=1.0), tmp_path_factory.mktemp("w") / "world")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_world_is_deterministic_and_seed_dependent(tmp_path: Path, world: Path) -> None:
    again = generate_world(WorldSpec(seed=7, size_px=512, gsd_m=1.0), tmp_path / "again")
    assert _files(again) == _files(world)
    other = generate_world(WorldSpec(seed=8, size_px=512, gsd_m=1.0), tmp_path / "other")
    assert _files(other)["map.tif"] != _files(world)["map.tif"]


def test_world_has_two_different_dates_of_the_same_georeferenced_ground(world: Path) -> None:
    pair = load_pair(world)
    m = load_georaster(pair.map_image)
    f = load_georaster(pair.flight_image)
    assert m.crs == f.crs and m.crs.startswith("EPSG:326")
    assert m.gsd_m == pytest.approx((1.0, 1.0), rel=2e-3)
    diff = np.abs(m.image.astype(int) - f.image.astype(int)).mean()
    assert diff > 10  # season / lighting / changes
    # Same ground: the structure (gradients) correlates strongly across dates.
    gm = np.gradient(m.image[..., 1].astype(float))[0]
    gf = np.gradient(f.image[..., 1].astype(float))[0]
    assert np.corrcoef(gm.ravel(), gf.ravel())[0, 1] > 0.3
    import cv2

    change = cv2.imread(str(world / "change.png"), cv2.IMREAD_GRAYSCALE)
    assert change is not None and 0 < (change > 0).mean() < 0.2


def _spec(**kw: object) -> FlightSpec:
    base = dict(seed=3, duration_s=3.0, fps=2.0, speed_mps=8.0, agl_m=(60.0, 60.0), camera=SMALL_CAM)
    base.update(kw)
    return FlightSpec(**base)  # type: ignore[arg-type]


def test_same_seed_same_bytes_and_a_valid_dataset(tmp_path: Path, world: Path) -> None:
    pair = load_pair(world)
    a = simulate_flight(pair, _spec(), tmp_path / "a")
    b = simulate_flight(pair, _spec(), tmp_path / "b")
    fa, fb = _files(a), _files(b)
    assert fa == fb
    c = simulate_flight(pair, _spec(seed=4), tmp_path / "c")
    assert _files(c)["mav0/groundtruth0/data.csv"] != fa["mav0/groundtruth0/data.csv"]
    assert validate_flight(a) == []
    flight = read_flight(a)
    assert len(flight.frames) == 7 and flight.meta.vehicle == "multirotor"
    assert flight.imu is not None and flight.prior is not None and flight.groundtruth is not None
    assert flight.map_path == pair.map_image.resolve()


def test_frames_see_only_the_map_and_telemetry_tracks_the_truth(tmp_path: Path, world: Path) -> None:
    pair = load_pair(world)
    out = simulate_flight(pair, _spec(effects=SensorEffects.none(), telemetry=TelemetryErrors.none(),
                                      image_format="png", prior_sigma_m=0.0), tmp_path / "f")
    flight = read_flight(out)
    for i in range(len(flight.frames)):
        img = flight.load_frame(i)
        assert (img.max(axis=2) == 0).mean() < 0.001  # footprint inside the raster: no black border
    gt = flight.groundtruth
    assert gt is not None
    att = flight.attitude.interpolate(gt.t_ns)
    np.testing.assert_allclose(att, gt.values[:, 3:6], atol=1e-9)
    alt = flight.altitude.interpolate(gt.t_ns)
    np.testing.assert_allclose(alt[:, 1], gt.column("alt_msl"), atol=0.05)
    prior = flight.prior
    assert prior is not None and len(prior) == 1
    np.testing.assert_allclose(prior.values[0, :2], gt.values[0, :2], atol=1e-9)


def test_altitude_is_capped_to_keep_the_footprint_on_the_map(tmp_path: Path, world: Path) -> None:
    out = simulate_flight(load_pair(world), _spec(agl_m=(5000.0, 5000.0)), tmp_path / "f")
    flight = read_flight(out)
    assert "capped" in flight.meta.notes
    assert float(np.median(flight.altitude.column("alt_agl"))) < 400


def test_multirotor_leans_into_the_wind_and_pitches_with_acceleration() -> None:
    rng = np.random.default_rng(0)
    spec = TrajectorySpec("multirotor", "survey", 40.0, 10.0, 100.0, (-100.0, -100.0, 100.0, 100.0),
                          wind_ne_mps=(6.0, 0.0))
    traj = make_trajectory(spec, rng)
    speed = np.hypot(traj.vel_ned[:, 0], traj.vel_ned[:, 1])
    steady = (np.linalg.norm(traj.acc_ned[:, :2], axis=1) < 0.05) & (speed > 9.0)
    assert steady.sum() > 100
    # Thrust axis (-body z) tilts toward where the air comes from: its north component
    # opposes the drag of (v - wind).
    up = np.array([-ned_from_body(*traj.rpy[i])[:, 2] for i in np.flatnonzero(steady)])
    air = traj.vel_ned[steady] - np.array([6.0, 0.0, 0.0])
    assert np.all(np.sum(up[:, :2] * air[:, :2], axis=1) > 0)
    # Braking or accelerating along the track changes the thrust tilt accordingly.
    i = int(np.argmax(np.linalg.norm(traj.acc_ned[:, :2], axis=1)))
    up_i = -ned_from_body(*traj.rpy[i])[:, 2]
    assert np.dot(up_i[:2], traj.acc_ned[i, :2]) > 0


def test_fixed_wing_banks_into_turns_and_crabs_into_crosswind() -> None:
    rng = np.random.default_rng(1)
    spec = TrajectorySpec("fixed_wing", "loiter", 60.0, 30.0, 1500.0, (-3000.0, -3000.0, 3000.0, 3000.0),
                          wind_ne_mps=(0.0, 8.0))
    traj = make_trajectory(spec, rng)
    course = np.unwrap(np.arctan2(traj.vel_ned[:, 1], traj.vel_ned[:, 0]))
    turn = np.sign(course[-1] - course[0])
    roll = traj.rpy[:, 0]
    assert np.all(np.sign(roll[100:-100]) == turn)
    radius_bank = math.degrees(float(np.median(np.abs(roll))))
    assert 5.0 < radius_bank < 45.0
    heading = traj.rpy[:, 2]
    crab = np.angle(np.exp(1j * (heading - course)))
    assert np.max(np.abs(crab)) > math.radians(5) and np.max(np.abs(crab)) < math.asin(8.0 / 20.0)
    # Coordinated turn: tan(bank) = V_air * turn rate / g.
    air = traj.vel_ned[:, :2] - np.array([0.0, 8.0])
    rate = np.gradient(course, 0.01)
    mid = slice(200, -200)
    np.testing.assert_allclose(np.tan(roll[mid]), np.linalg.norm(air, axis=1)[mid] * rate[mid] / G, atol=1e-3)


def test_bad_requests_are_refused_with_the_field(tmp_path: Path, world: Path) -> None:
    with pytest.raises(FlightPlanError) as err:
        FlightSpec(fps=0.0)
    assert err.value.field == "fps"
    with pytest.raises(FlightPlanError):
        TrajectorySpec("multirotor", "loiter", 10, 10, 100, (0, 0, 100, 100))
    with pytest.raises(PairError) as perr:
        load_pair(tmp_path)
    assert perr.value.path == tmp_path / "pair.yaml"
