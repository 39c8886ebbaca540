"""C5 state estimator: fuses fixes, VO, attitude and altitude with delayed-measurement handling; position + covariance at >= 10 Hz."""

from gps_denied_onboard.components.c5_state.errors import StateError

__all__ = ["StateError"]
