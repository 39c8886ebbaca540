"""C2 flight-controller link: MAVLink telemetry in, position out (GPS_INPUT / GLOBAL_POSITION_SENSOR / ODOMETRY), STATUSTEXT alerts."""

from gps_denied_onboard.components.c2_fc_link.errors import FcLinkError

__all__ = ["FcLinkError"]
