"""Vectorised WGS84 <-> local ENU for arrays of points (the scalar versions live in `_types`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import WGS84_A, WGS84_B, WGS84_E2, EnuFrame, geodetic_to_ecef

F64 = npt.NDArray[np.float64]
_EP2 = (WGS84_A**2 - WGS84_B**2) / WGS84_B**2


def _rotation(frame: EnuFrame) -> F64:
    lat = np.radians(frame.origin.lat_deg)
    lon = np.radians(frame.origin.lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array([[-so, co, 0.0], [-sl * co, -sl * so, cl], [cl * co, cl * so, sl]])


def en_to_lonlat(frame: EnuFrame, east: npt.ArrayLike, north: npt.ArrayLike, up: float = 0.0) -> tuple[F64, F64]:
    """Points of the ENU plane (up = `up`) -> (lon_deg, lat_deg); Bowring's closed form
    (sub-millimetre for points near the surface)."""
    e = np.asarray(east, dtype=np.float64)
    n = np.asarray(north, dtype=np.float64)
    o = frame.origin
    r = _rotation(frame)
    base = geodetic_to_ecef(o.lat_deg, o.lon_deg, o.alt_m)
    x = base[0] + r[0, 0] * e + r[1, 0] * n + r[2, 0] * up
    y = base[1] + r[0, 1] * e + r[1, 1] * n + r[2, 1] * up
    z = base[2] + r[0, 2] * e + r[1, 2] * n + r[2, 2] * up
    p = np.hypot(x, y)
    theta = np.arctan2(z * WGS84_A, p * WGS84_B)
    lat = np.arctan2(z + _EP2 * WGS84_B * np.sin(theta) ** 3, p - WGS84_E2 * WGS84_A * np.cos(theta) ** 3)
    lon = np.arctan2(y, x)
    return np.degrees(lon), np.degrees(lat)


def lonlat_to_en(frame: EnuFrame, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike, alt_m: float = 0.0) -> tuple[F64, F64]:
    """(lon_deg, lat_deg) at height `alt_m` -> (east, north) metres in `frame`."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    sl = np.sin(lat)
    nrad = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sl * sl)
    x = (nrad + alt_m) * np.cos(lat) * np.cos(lon)
    y = (nrad + alt_m) * np.cos(lat) * np.sin(lon)
    z = (nrad * (1.0 - WGS84_E2) + alt_m) * sl
    o = frame.origin
    base = geodetic_to_ecef(o.lat_deg, o.lon_deg, o.alt_m)
    r = _rotation(frame)
    dx, dy, dz = x - base[0], y - base[1], z - base[2]
    return r[0, 0] * dx + r[0, 1] * dy + r[0, 2] * dz, r[1, 0] * dx + r[1, 1] * dy + r[1, 2] * dz
