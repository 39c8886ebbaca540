"""Errors of c7_geo_registration: every error this component raises derives from `GeoRegistrationError`."""


class GeoRegistrationError(Exception):
    """Base class of c7_geo_registration errors."""
