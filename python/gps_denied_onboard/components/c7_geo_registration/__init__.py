"""C7 geo-registration: orthorectify a frame, register it to the map, solve the camera pose, output an absolute fix with covariance."""

from gps_denied_onboard.components.c7_geo_registration.errors import GeoRegistrationError

__all__ = ["GeoRegistrationError"]
