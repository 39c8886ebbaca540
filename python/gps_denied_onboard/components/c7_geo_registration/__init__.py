"""C7 geo-registration: orthorectify a frame with attitude + altitude, register it to the
map (gradient-orientation correlation), solve the camera pose, output an absolute fix
with covariance. Also home of `GeoRasterMap`, the `MapSource` over any georeferenced raster."""

from gps_denied_onboard.components.c7_geo_registration.errors import (
    GeoRegistrationError,
    MapLoadError,
    RegistrationInputError,
)
from gps_denied_onboard.components.c7_geo_registration.interface import RegistrationConfig, RegistrationResult
from gps_denied_onboard.components.c7_geo_registration.map_fields import MapField, MapFieldCache
from gps_denied_onboard.components.c7_geo_registration.matching import (
    Peak,
    correlate,
    orientation_field,
    texture_score,
    to_gray,
)
from gps_denied_onboard.components.c7_geo_registration.ortho import Ortho, ground_footprint, orthorectify, render_view
from gps_denied_onboard.components.c7_geo_registration.pose import PoseSolution, solve_pose
from gps_denied_onboard.components.c7_geo_registration.raster_map import GeoRasterMap, InMemoryMap
from gps_denied_onboard.components.c7_geo_registration.registrar import GeoRegistrar

__all__ = [
    "GeoRasterMap",
    "GeoRegistrar",
    "GeoRegistrationError",
    "InMemoryMap",
    "MapField",
    "MapFieldCache",
    "MapLoadError",
    "Ortho",
    "Peak",
    "PoseSolution",
    "RegistrationConfig",
    "RegistrationInputError",
    "RegistrationResult",
    "correlate",
    "ground_footprint",
    "orientation_field",
    "orthorectify",
    "render_view",
    "solve_pose",
    "texture_score",
    "to_gray",
]
