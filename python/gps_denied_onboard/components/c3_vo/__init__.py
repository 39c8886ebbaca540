"""C3 visual odometry: frame-to-frame motion, metric through altitude."""

from gps_denied_onboard.components.c3_vo.errors import VoError

__all__ = ["VoError"]
