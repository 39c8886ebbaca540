"""C1 camera: frame sources (V4L2/GStreamer via OpenCV, dataset replay, simulator) with
monotonic timestamps, drop counting and reconnect on a stalled device."""

from gps_denied_onboard.components.c1_camera.errors import CameraConfigError, CameraError, CameraOpenError
from gps_denied_onboard.components.c1_camera.interface import FRAME_STALL, CapturedFrame, FrameSource, SourceStats
from gps_denied_onboard.components.c1_camera.sources import OpenCvCaptureSource, ReplaySource, SimulatorSource

__all__ = [
    "CameraConfigError",
    "CameraError",
    "CameraOpenError",
    "CapturedFrame",
    "FRAME_STALL",
    "FrameSource",
    "OpenCvCaptureSource",
    "SourceStats",
    "ReplaySource",
    "SimulatorSource",
]
