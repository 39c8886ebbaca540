"""Web-mercator (EPSG:3857) XYZ / TMS tile math.

XYZ rows count down from the north (slippy maps); TMS and MBTiles rows count up
from the south: y_tms = 2^z - 1 - y_xyz.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from gps_denied_onboard._types.errors import GeoValueError
from gps_denied_onboard._types.geo import WGS84_A

MAX_MERCATOR_LAT_DEG = 85.05112877980659
MAX_ZOOM = 30
TILE_SIZE_PX = 256


@dataclass(frozen=True, slots=True, order=True)
class TileXYZ:
    """A slippy-map tile address (XYZ scheme)."""

    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not 0 <= self.z <= MAX_ZOOM:
            raise GeoValueError("z", self.z, f"a zoom level in [0, {MAX_ZOOM}]")
        n = 1 << self.z
        if not 0 <= self.x < n:
            raise GeoValueError("x", self.x, f"a column in [0, {n}) at zoom {self.z}")
        if not 0 <= self.y < n:
            raise GeoValueError("y", self.y, f"a row in [0, {n}) at zoom {self.z}")


def _check_lonlat(lon_deg: float, lat_deg: float) -> None:
    if not (math.isfinite(lat_deg) and abs(lat_deg) <= MAX_MERCATOR_LAT_DEG):
        raise GeoValueError("lat_deg", lat_deg, f"|lat| <= {MAX_MERCATOR_LAT_DEG} (web-mercator limit)")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise GeoValueError("lon_deg", lon_deg, "a longitude in [-180, 180]")


def lonlat_to_pixel(lon_deg: float, lat_deg: float, z: int, tile_size: int = TILE_SIZE_PX) -> tuple[float, float]:
    """Global fractional pixel coordinates (x right, y down) at zoom `z`."""
    _check_lonlat(lon_deg, lat_deg)
    world = float(tile_size << z)
    lat = math.radians(lat_deg)
    px = (lon_deg + 180.0) / 360.0 * world
    py = (1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0 * world
    return px, py


def pixel_to_lonlat(px: float, py: float, z: int, tile_size: int = TILE_SIZE_PX) -> tuple[float, float]:
    """Inverse of `lonlat_to_pixel`: (lon_deg, lat_deg)."""
    world = float(tile_size << z)
    lon = px / world * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * py / world))))
    return lon, lat


def lonlat_to_tile(lon_deg: float, lat_deg: float, z: int) -> TileXYZ:
    """The XYZ tile containing the point (edges belong to the tile east / south)."""
    px, py = lonlat_to_pixel(lon_deg, lat_deg, z, 1)
    n = 1 << z
    return TileXYZ(z, min(int(math.floor(px)), n - 1), min(int(math.floor(py)), n - 1))


def tile_bounds(tile: TileXYZ) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of a tile."""
    lon_min, lat_max = pixel_to_lonlat(tile.x, tile.y, tile.z, 1)
    lon_max, lat_min = pixel_to_lonlat(tile.x + 1, tile.y + 1, tile.z, 1)
    return lon_min, lat_min, lon_max, lat_max


def tiles_covering(lat_min: float, lon_min: float, lat_max: float, lon_max: float, z: int) -> Iterator[TileXYZ]:
    """Every tile at zoom `z` intersecting the bbox, row by row from the north-west."""
    if lat_min > lat_max or lon_min > lon_max:
        raise GeoValueError("bbox", (lat_min, lon_min, lat_max, lon_max), "lat_min <= lat_max and lon_min <= lon_max")
    nw = lonlat_to_tile(lon_min, lat_max, z)
    se = lonlat_to_tile(lon_max, lat_min, z)
    for y in range(nw.y, se.y + 1):
        for x in range(nw.x, se.x + 1):
            yield TileXYZ(z, x, y)


def xyz_to_tms(tile: TileXYZ) -> tuple[int, int, int]:
    """(z, x, y_tms) for MBTiles rows."""
    return tile.z, tile.x, (1 << tile.z) - 1 - tile.y


def tms_to_xyz(z: int, x: int, y_tms: int) -> TileXYZ:
    return TileXYZ(z, x, (1 << z) - 1 - y_tms)


def ground_resolution_m_per_px(lat_deg: float, z: int, tile_size: int = TILE_SIZE_PX) -> float:
    """Metres on the ground per web-mercator pixel at `lat_deg` and zoom `z`."""
    _check_lonlat(0.0, lat_deg)
    return math.cos(math.radians(lat_deg)) * 2.0 * math.pi * WGS84_A / float(tile_size << z)
