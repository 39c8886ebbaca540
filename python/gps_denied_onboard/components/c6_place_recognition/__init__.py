"""C6 place recognition: global (re)localisation with no or a poor prior: retrieval of
candidate map tiles by classical global descriptors, verified by C7 registration."""

from gps_denied_onboard.components.c6_place_recognition.descriptor import (
    GradientHistogramDescriptor,
    default_descriptor_extractor,
)
from gps_denied_onboard.components.c6_place_recognition.errors import PlaceRecognitionError
from gps_denied_onboard.components.c6_place_recognition.precomputed import DescribedMap, DescriptorTable
from gps_denied_onboard.components.c6_place_recognition.retrieval import Candidate, TileIndex

__all__ = ["Candidate", "DescribedMap", "DescriptorTable", "GradientHistogramDescriptor", "PlaceRecognitionError", "TileIndex", "default_descriptor_extractor"]
