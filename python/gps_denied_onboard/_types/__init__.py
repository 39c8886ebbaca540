"""Geo types and geodesy shared by every component: WGS84 / ECEF / local ENU,
attitude, fixes with covariance, and web-mercator tile math."""

from gps_denied_onboard._types.camera import CameraModel
from gps_denied_onboard._types.errors import GeoValueError
from gps_denied_onboard._types.geo import (
    WGS84_A,
    WGS84_B,
    WGS84_E2,
    WGS84_F,
    EnuFrame,
    LatLonAlt,
    ecef_to_geodetic,
    geodetic_to_ecef,
)
from gps_denied_onboard._types.map_source import MapPatch, MapSource
from gps_denied_onboard._types.pose import Attitude, Covariance2, PositionFix
from gps_denied_onboard._types.rotation import (
    NED_FROM_ENU,
    R_BODY_FROM_CAM_NADIR,
    euler_zyx_from_ned_body,
    ned_from_body,
    ned_from_camera,
)
from gps_denied_onboard._types.tiles import (
    MAX_MERCATOR_LAT_DEG,
    TileXYZ,
    ground_resolution_m_per_px,
    lonlat_to_pixel,
    lonlat_to_tile,
    pixel_to_lonlat,
    tile_bounds,
    tiles_covering,
    tms_to_xyz,
    xyz_to_tms,
)

__all__ = [
    "MAX_MERCATOR_LAT_DEG",
    "WGS84_A",
    "WGS84_B",
    "WGS84_E2",
    "WGS84_F",
    "NED_FROM_ENU",
    "R_BODY_FROM_CAM_NADIR",
    "Attitude",
    "CameraModel",
    "MapPatch",
    "MapSource",
    "euler_zyx_from_ned_body",
    "ned_from_body",
    "ned_from_camera",
    "Covariance2",
    "EnuFrame",
    "GeoValueError",
    "LatLonAlt",
    "PositionFix",
    "TileXYZ",
    "ecef_to_geodetic",
    "geodetic_to_ecef",
    "ground_resolution_m_per_px",
    "lonlat_to_pixel",
    "lonlat_to_tile",
    "pixel_to_lonlat",
    "tile_bounds",
    "tiles_covering",
    "tms_to_xyz",
    "xyz_to_tms",
]
