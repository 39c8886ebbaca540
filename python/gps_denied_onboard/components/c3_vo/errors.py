"""Errors of c3_vo: every error this component raises derives from `VoError`."""


class VoError(Exception):
    """Base class of c3_vo errors."""
