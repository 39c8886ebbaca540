"""Camera calibration in the ASL/EuRoC `sensor.yaml` layout (DESIGN §5).

    resolution: [w, h]
    camera_model: pinhole
    intrinsics: [fx, fy, cx, cy]
    distortion_model: radial-tangential
    distortion_coefficients: [k1, k2, p1, p2]
    T_BS: {rows: 4, cols: 4, data: [16 values, row-major]}   # optional: nadir mount

Unknown keys are ignored (readers must accept newer files).
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from gps_denied_onboard._types import CameraModel, GeoValueError
from gps_denied_onboard.components.c4_map_cache.errors import CalibrationError


def _numbers(doc: dict[str, Any], key: str, count: int, source: str) -> list[float]:
    value = doc.get(key)
    if (not isinstance(value, list) or len(value) != count
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise CalibrationError(source, key, value, f"a list of {count} finite numbers")
    return [float(v) for v in value]


def parse_camera_yaml(data: bytes, source: str = "camera.yaml") -> CameraModel:
    """Parse ASL sensor.yaml bytes into a `CameraModel`; `source` names the file in errors."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CalibrationError(source, "<document>", str(exc).splitlines()[0][:120], "a YAML mapping") from None
    if not isinstance(doc, dict):
        raise CalibrationError(source, "<document>", type(doc).__name__, "a YAML mapping")
    model = doc.get("camera_model", "pinhole")
    if model != "pinhole":
        raise CalibrationError(source, "camera_model", model, "'pinhole'")
    dist_model = doc.get("distortion_model", "radial-tangential")
    if dist_model not in ("radial-tangential", "radtan", "none"):
        raise CalibrationError(source, "distortion_model", dist_model, "'radial-tangential'")
    res = doc.get("resolution")
    if (not isinstance(res, list) or len(res) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in res)):
        raise CalibrationError(source, "resolution", res, "[width, height] positive integers")
    fx, fy, cx, cy = _numbers(doc, "intrinsics", 4, source)
    dist = (0.0, 0.0, 0.0, 0.0)
    if dist_model != "none" or "distortion_coefficients" in doc:
        k1, k2, p1, p2 = _numbers(doc, "distortion_coefficients", 4, source)
        dist = (k1, k2, p1, p2)
    kwargs: dict[str, Any] = {}
    if "T_BS" in doc:
        tbs = doc["T_BS"]
        if not isinstance(tbs, dict) or tbs.get("rows") != 4 or tbs.get("cols") != 4:
            raise CalibrationError(source, "T_BS", tbs, "{rows: 4, cols: 4, data: [16 values]}")
        kwargs["T_BS"] = tuple(_numbers(tbs, "data", 16, source))
    try:
        return CameraModel(res[0], res[1], fx, fy, cx, cy, dist, **kwargs)
    except GeoValueError as exc:
        raise CalibrationError(source, exc.field, exc.value, exc.expected) from exc
