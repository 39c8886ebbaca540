"""`airborne:` — the flight runtime (composition root `airborne run`): camera, map
cache, thread queues and supervision."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AirborneConfig:
    # v4l2:/dev/video0 (OpenCV V4L2), gst:<GStreamer pipeline ending in appsink>,
    # replay:<flight dataset dir> (frames paced to their timestamps: bench/SITL).
    camera: str = "v4l2:/dev/video0"
    # ASL sensor.yaml of the live camera; empty: the calibration in the map cache.
    camera_calibration: str = ""
    cache_dir: str = "/var/lib/gdn/cache"
    # Operator public keys the cache's manifest signature must verify against.
    trusted_keys: tuple[str, ...] = ("/etc/gdn/operator_pub.pem",)
    # Highest manifest version accepted so far (rollback protection); empty: next to the cache.
    cache_state: str = ""
    # A georeferenced raster instead of a cache (bench only; no signature to check).
    map_raster: str = ""
    # Terrain altitude when the autopilot gives no MSL/relative pair to derive it.
    ground_alt_msl_m: float = 0.0
    # Frames waiting for the vision thread; the oldest is dropped (and counted) first.
    # 1 = always the newest frame: lowest capture -> send latency (VO spans the gap).
    frame_queue: int = 1
    telemetry_queue: int = 2048
    # A worker that has not looped for this long is reported (and restarted where safe).
    stall_timeout_s: float = 3.0
    # No frame for this long: the camera is reported stalled and reopened.
    camera_stall_s: float = 2.0
    supervise_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if self.camera.split(":", 1)[0] not in ("v4l2", "gst", "replay") or ":" not in self.camera:
            raise ValueError(f"airborne.camera must be v4l2:DEV, gst:PIPELINE or replay:DIR, got {self.camera!r}")
        for name in ("frame_queue", "telemetry_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"airborne.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("stall_timeout_s", "camera_stall_s", "supervise_interval_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"airborne.{name} must be > 0, got {getattr(self, name)}")
