"""Capture metadata: what makes an in-flight capture georeferenced and usable later."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from gps_denied_onboard.capture_store.errors import CaptureValueError

IMAGE_FORMATS = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff"}


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CaptureValueError(name, value, "a finite number")
    return float(value)


@dataclass(frozen=True)
class CaptureMetadata:
    """One orthorectified capture.

    - `frame_time_ns`: the camera frame's timestamp on the flight's monotonic clock;
      it is also the capture's identity within a flight.
    - `lat_deg`, `lon_deg`: WGS84 centre of the capture (the fix it was localised with).
    - `cov_nn`, `cov_ne`, `cov_ee`: horizontal covariance of that fix, m^2 (NED).
    - `gsd_m`: ground sample distance of the orthorectified image, m/px.
    - `footprint`: the image corners as (lat_deg, lon_deg), clockwise from top-left.
    - `image_format`: "png" or "jpg"; `width`, `height` in pixels.
    """

    frame_time_ns: int
    lat_deg: float
    lon_deg: float
    cov_nn: float
    cov_ne: float
    cov_ee: float
    gsd_m: float
    footprint: tuple[tuple[float, float], ...]
    image_format: str
    width: int
    height: int
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.frame_time_ns, bool) or not isinstance(self.frame_time_ns, int) or self.frame_time_ns < 0:
            raise CaptureValueError("frame_time_ns", self.frame_time_ns, "a non-negative integer (ns)")
        if not -90.0 <= _finite("lat_deg", self.lat_deg) <= 90.0:
            raise CaptureValueError("lat_deg", self.lat_deg, "a latitude in [-90, 90]")
        if not -180.0 <= _finite("lon_deg", self.lon_deg) <= 180.0:
            raise CaptureValueError("lon_deg", self.lon_deg, "a longitude in [-180, 180]")
        nn, ne, ee = (_finite(n, getattr(self, n)) for n in ("cov_nn", "cov_ne", "cov_ee"))
        if nn <= 0 or ee <= 0 or nn * ee - ne * ne <= 0:
            raise CaptureValueError("covariance", (nn, ne, ee), "a positive-definite 2x2 [[nn, ne], [ne, ee]] in m^2")
        if _finite("gsd_m", self.gsd_m) <= 0:
            raise CaptureValueError("gsd_m", self.gsd_m, "a ground sample distance > 0 m/px")
        if len(self.footprint) != 4:
            raise CaptureValueError("footprint", self.footprint, "4 (lat_deg, lon_deg) corners")
        for i, corner in enumerate(self.footprint):
            if len(corner) != 2:
                raise CaptureValueError(f"footprint[{i}]", corner, "a (lat_deg, lon_deg) pair")
            lat, lon = (_finite(f"footprint[{i}]", v) for v in corner)
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise CaptureValueError(f"footprint[{i}]", corner, "a WGS84 (lat, lon) in range")
        if self.image_format not in IMAGE_FORMATS:
            raise CaptureValueError("image_format", self.image_format, f"one of {sorted(IMAGE_FORMATS)}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise CaptureValueError(name, value, "a positive integer (pixels)")

    @property
    def capture_id(self) -> str:
        """The capture's identity within its flight: the zero-padded frame time."""
        return f"{self.frame_time_ns:020d}"

    @property
    def horizontal_variance_m2(self) -> float:
        """cov_nn + cov_ee: larger means a less trustworthy georeference (evicted first
        under the lowest-quality policy)."""
        return self.cov_nn + self.cov_ee

    def to_json_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["footprint"] = [list(c) for c in self.footprint]
        return out

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> CaptureMetadata:
        """Parse the stored form; unknown keys are kept under `extra` (forward compatible)."""
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        missing = sorted(known - data.keys())
        if missing:
            raise CaptureValueError("metadata", sorted(data), f"the keys {missing} as well")
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known and k != "extra"})
        kwargs = {k: data[k] for k in known}
        kwargs["footprint"] = tuple(tuple(c) for c in data["footprint"])
        return cls(**kwargs, extra=extra)
