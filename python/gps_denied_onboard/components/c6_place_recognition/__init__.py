"""C6 place recognition: global (re)localisation by retrieval over the cache when there is no or a poor prior."""

from gps_denied_onboard.components.c6_place_recognition.errors import PlaceRecognitionError

__all__ = ["PlaceRecognitionError"]
