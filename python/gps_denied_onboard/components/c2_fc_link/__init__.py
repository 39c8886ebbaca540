"""C2 flight-controller link: MAVLink telemetry in (attitude, altitude, IMU, landed
state, time), position out (GPS_INPUT for ArduPilot; GLOBAL_POSITION_SENSOR /
ODOMETRY for PX4), MAV_CMD_EXTERNAL_POSITION_ESTIMATE, STATUSTEXT alerts.

    link = FcLink(cfg.fc_link, fdr=make_fdr_client("c2_fc_link"), fdr_out=make_fdr_client("c2_fc_link.out"))
    link.start()
    link.snapshot().attitude          # latest valid attitude with its capture time
    link.send_position(PositionOutput(...))
"""

from gps_denied_onboard.components.c2_fc_link.encode import gps_week_time, unix_ns_from_gps
from gps_denied_onboard.components.c2_fc_link.errors import (
    FcLinkClosedError,
    FcLinkConfigError,
    FcLinkError,
    FcLinkTransportError,
    FcLinkValueError,
)
from gps_denied_onboard.components.c2_fc_link.interface import (
    AltitudeSample,
    AttitudeSample,
    ImuSample,
    LandedState,
    LinkStats,
    OutputHealth,
    PositionOutput,
    PressureSample,
    SendReport,
    TelemetrySnapshot,
    TimedValue,
)
from gps_denied_onboard.components.c2_fc_link.link import MAV_SEVERITY, FcLink
from gps_denied_onboard.components.c2_fc_link.timesync import ClockOffsetEstimator, OffsetEstimate
from gps_denied_onboard.components.c2_fc_link.transport import SerialTransport, Transport, UdpTransport, open_transport

__all__ = [
    "MAV_SEVERITY",
    "AltitudeSample",
    "AttitudeSample",
    "ClockOffsetEstimator",
    "FcLink",
    "FcLinkClosedError",
    "FcLinkConfigError",
    "FcLinkError",
    "FcLinkTransportError",
    "FcLinkValueError",
    "ImuSample",
    "LandedState",
    "LinkStats",
    "OffsetEstimate",
    "OutputHealth",
    "PositionOutput",
    "PressureSample",
    "SendReport",
    "SerialTransport",
    "TelemetrySnapshot",
    "TimedValue",
    "Transport",
    "UdpTransport",
    "gps_week_time",
    "open_transport",
    "unix_ns_from_gps",
]
