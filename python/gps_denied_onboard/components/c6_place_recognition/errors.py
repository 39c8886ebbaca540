"""Errors of c6_place_recognition: every error this component raises derives from `PlaceRecognitionError`."""


class PlaceRecognitionError(Exception):
    """Base class of c6_place_recognition errors."""
