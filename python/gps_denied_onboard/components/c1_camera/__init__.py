"""C1 camera: frame sources (V4L2/GStreamer via OpenCV, dataset replay, simulator) with monotonic timestamps and drop counting."""

from gps_denied_onboard.components.c1_camera.errors import CameraError

__all__ = ["CameraError"]
