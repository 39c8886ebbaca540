"""C5 state estimation: horizontal EKF fusing absolute fixes and visual-odometry velocity,
with Mahalanobis gating and delayed-measurement (out-of-sequence) handling."""

from gps_denied_onboard.components.c5_state.covariance import major_axis_sigma
from gps_denied_onboard.components.c5_state.ekf import HorizontalEkf
from gps_denied_onboard.components.c5_state.errors import MeasurementError, StateError
from gps_denied_onboard.components.c5_state.interface import FilterConfig, FilterEstimate, UpdateOutcome
from gps_denied_onboard.components.c5_state.shared_error import SharedErrorConfig, SharedGroundError

__all__ = ["FilterConfig", "FilterEstimate", "HorizontalEkf", "MeasurementError", "SharedErrorConfig", "SharedGroundError",
           "StateError", "UpdateOutcome", "major_axis_sigma"]
