"""WGS84 geodetic <-> ECEF <-> local ENU conversions.

ECEF -> geodetic uses Bowring's closed form followed by one Newton refinement
step, good to well below a millimetre anywhere near the Earth's surface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types.errors import GeoValueError

WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
_EP2 = (WGS84_A**2 - WGS84_B**2) / WGS84_B**2

Vec3 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LatLonAlt:
    """A WGS84 position: latitude and longitude in degrees, altitude in metres above MSL
    (the project treats the geoid as the ellipsoid unless a geoid model is configured)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat_deg) and -90.0 <= self.lat_deg <= 90.0):
            raise GeoValueError("lat_deg", self.lat_deg, "a finite latitude in [-90, 90]")
        if not (math.isfinite(self.lon_deg) and -180.0 <= self.lon_deg <= 180.0):
            raise GeoValueError("lon_deg", self.lon_deg, "a finite longitude in [-180, 180]")
        if not math.isfinite(self.alt_m):
            raise GeoValueError("alt_m", self.alt_m, "a finite altitude in metres")


def geodetic_to_ecef(lat_deg: float, lon_deg: float, alt_m: float) -> Vec3:
    """WGS84 geodetic coordinates to Earth-centred, Earth-fixed metres."""
    lat = math.radians(lat_deg)
    lon = math.radians(lon_deg)
    n = _prime_vertical_radius(lat)
    sin_lat = math.sin(lat)
    x = (n + alt_m) * math.cos(lat) * math.cos(lon)
    y = (n + alt_m) * math.cos(lat) * math.sin(lon)
    z = (n * (1.0 - WGS84_E2) + alt_m) * sin_lat
    return np.array([x, y, z], dtype=np.float64)


def ecef_to_geodetic(ecef: Vec3) -> tuple[float, float, float]:
    """ECEF metres to (lat_deg, lon_deg, alt_m) on WGS84."""
    x, y, z = (float(v) for v in ecef)
    p = math.hypot(x, y)
    lon = math.atan2(y, x)
    if p < 1e-9:  # on the polar axis
        lat = math.copysign(math.pi / 2.0, z)
        return math.degrees(lat), 0.0, abs(z) - WGS84_B
    theta = math.atan2(z * WGS84_A, p * WGS84_B)
    lat = math.atan2(
        z + _EP2 * WGS84_B * math.sin(theta) ** 3,
        p - WGS84_E2 * WGS84_A * math.cos(theta) ** 3,
    )
    for _ in range(2):  # fixed-point refinement: sub-micrometre
        alt = _height_above_ellipsoid(p, z, lat)
        lat = math.atan2(z, p * (1.0 - WGS84_E2 * _prime_vertical_radius(lat) / (_prime_vertical_radius(lat) + alt)))
    alt = _height_above_ellipsoid(p, z, lat)
    return math.degrees(lat), math.degrees(lon), alt


def _prime_vertical_radius(lat: float) -> float:
    sin_lat = math.sin(lat)
    return WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)


def _height_above_ellipsoid(p: float, z: float, lat: float) -> float:
    n = _prime_vertical_radius(lat)
    if abs(lat) < math.radians(89.0):
        return p / math.cos(lat) - n
    return z / math.sin(lat) - n * (1.0 - WGS84_E2)  # near the poles cos(lat) is ill-conditioned


def _ecef_to_enu_rotation(lat_deg: float, lon_deg: float) -> npt.NDArray[np.float64]:
    lat = math.radians(lat_deg)
    lon = math.radians(lon_deg)
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class EnuFrame:
    """A local East-North-Up tangent frame anchored at `origin`."""

    origin: LatLonAlt

    @property
    def _origin_ecef(self) -> Vec3:
        return geodetic_to_ecef(self.origin.lat_deg, self.origin.lon_deg, self.origin.alt_m)

    @property
    def _rotation(self) -> npt.NDArray[np.float64]:
        return _ecef_to_enu_rotation(self.origin.lat_deg, self.origin.lon_deg)

    def to_enu(self, point: LatLonAlt) -> Vec3:
        """Geodetic point -> [east, north, up] metres in this frame."""
        d = geodetic_to_ecef(point.lat_deg, point.lon_deg, point.alt_m) - self._origin_ecef
        return self._rotation @ d

    def to_geodetic(self, enu: Vec3 | tuple[float, float, float]) -> LatLonAlt:
        """[east, north, up] metres in this frame -> geodetic point."""
        ecef = self._origin_ecef + self._rotation.T @ np.asarray(enu, dtype=np.float64)
        lat, lon, alt = ecef_to_geodetic(ecef)
        return LatLonAlt(lat, lon, alt)
