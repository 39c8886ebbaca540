"""Errors of c1_camera: every error this component raises derives from `CameraError`."""


class CameraError(Exception):
    """Base class of c1_camera errors."""
