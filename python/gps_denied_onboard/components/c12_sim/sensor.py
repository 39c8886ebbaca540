"""Camera sensor effects and autopilot telemetry errors (all seeded)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SensorEffects:
    """Image degradations. Zero disables one; `SensorEffects.none()` disables all."""

    noise_sigma: float = 2.0  # read noise, DN
    shot_noise: float = 0.4  # x sqrt(signal)
    vignetting: float = 0.25  # relative darkening at the corners
    exposure_jitter: float = 0.08  # relative per-frame gain change (1 sigma)
    white_balance_jitter: float = 0.04  # per-channel gain (1 sigma, per flight)
    exposure_time_s: float = 0.004  # motion blur

    @staticmethod
    def none() -> SensorEffects:
        return SensorEffects(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class TelemetryErrors:
    """Autopilot estimate errors: attitude noise and bias, baro bias/drift/noise, rangefinder."""

    attitude_noise_deg: float = 0.2
    attitude_bias_deg: float = 0.3
    yaw_bias_deg: float = 1.5
    baro_bias_m: float = 1.0
    baro_drift_m_per_sqrt_s: float = 0.05
    baro_noise_m: float = 0.15
    rangefinder: bool = False
    rangefinder_noise_m: float = 0.05
    gyro_noise_rad_s: float = 0.002
    accel_noise_m_s2: float = 0.03

    @staticmethod
    def none() -> TelemetryErrors:
        return TelemetryErrors(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, 0.0, 0.0, 0.0)


def apply_effects(
    image: U8, effects: SensorEffects, rng: np.random.Generator, *, blur_px: tuple[float, float], gain: float,
    wb: tuple[float, float, float],
) -> U8:
    """Motion blur along `blur_px` (dx, dy in pixels over the exposure), vignetting,
    exposure gain and white balance, shot + read noise, 8-bit quantisation."""
    img = image.astype(np.float32)
    length = math.hypot(*blur_px)
    if length > 0.5:
        k = int(math.ceil(length)) | 1
        kernel = np.zeros((k, k), np.float32)
        c = k // 2
        for t in np.linspace(-0.5, 0.5, 4 * k):
            x, y = c + t * blur_px[0], c + t * blur_px[1]
            kernel[int(round(y)), int(round(x))] += 1.0
        img = cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)
    h, w = img.shape[:2]
    if effects.vignetting > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - (w - 1) / 2) ** 2 + (yy - (h - 1) / 2) ** 2) / (((w - 1) / 2) ** 2 + ((h - 1) / 2) ** 2)
        img *= (1.0 - effects.vignetting * r2)[..., None]
    img *= np.array(wb, np.float32) * gain
    if effects.shot_noise > 0 or effects.noise_sigma > 0:
        sigma = np.sqrt(effects.noise_sigma**2 + effects.shot_noise**2 * np.maximum(img, 0.0))
        img += rng.standard_normal(img.shape, dtype=np.float32) * sigma
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
