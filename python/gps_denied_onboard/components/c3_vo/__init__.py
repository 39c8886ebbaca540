"""C3 visual odometry: frame-to-frame ground displacement, metric via altitude
(correlation of consecutive orthorectified frames)."""

from gps_denied_onboard.components.c3_vo.errors import VoError
from gps_denied_onboard.components.c3_vo.interface import VoConfig, VoMeasurement
from gps_denied_onboard.components.c3_vo.odometry import OrthoOdometry

__all__ = ["OrthoOdometry", "VoConfig", "VoError", "VoMeasurement"]
