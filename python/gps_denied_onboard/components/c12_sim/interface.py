"""The public surface of c12_sim: worlds, flights, photo import, benchmark."""

from __future__ import annotations

from gps_denied_onboard.components.c12_sim.baseline import run_baseline
from gps_denied_onboard.components.c12_sim.georaster import GeoRaster, load_georaster
from gps_denied_onboard.components.c12_sim.metrics import (
    ErrorStats,
    error_stats,
    mahalanobis,
    north_east_error_m,
    score,
)
from gps_denied_onboard.components.c12_sim.pairs import Pair, load_pair
from gps_denied_onboard.components.c12_sim.photos import flight_from_photos, read_photo
from gps_denied_onboard.components.c12_sim.render import Renderer, camera_pose, project_ground
from gps_denied_onboard.components.c12_sim.runner import LOCALIZERS, bench_flight, resolve_localizer, run_localizer
from gps_denied_onboard.components.c12_sim.sensor import SensorEffects, TelemetryErrors
from gps_denied_onboard.components.c12_sim.simulate import CameraSpec, FlightSpec, simulate_flight
from gps_denied_onboard.components.c12_sim.suite import Suite, format_table, load_suite, run_suite, suite_totals
from gps_denied_onboard.components.c12_sim.world import WorldSpec, generate_world

__all__ = [
    "LOCALIZERS",
    "CameraSpec",
    "ErrorStats",
    "FlightSpec",
    "GeoRaster",
    "Pair",
    "Renderer",
    "SensorEffects",
    "Suite",
    "TelemetryErrors",
    "WorldSpec",
    "bench_flight",
    "camera_pose",
    "error_stats",
    "flight_from_photos",
    "format_table",
    "generate_world",
    "load_georaster",
    "load_pair",
    "load_suite",
    "mahalanobis",
    "north_east_error_m",
    "project_ground",
    "read_photo",
    "resolve_localizer",
    "run_baseline",
    "run_localizer",
    "run_suite",
    "score",
    "simulate_flight",
    "suite_totals",
]
