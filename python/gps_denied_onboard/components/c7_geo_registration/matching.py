"""Appearance-change-robust dense matching: doubled-angle gradient-orientation fields
correlated with OpenCV's normalised cross-correlation.

Why this representation: across years, the intensities and even the contrast sign
of fields, roofs and roads change (a field bright one year is dark the next), but
the *orientation* of their boundaries survives. Each pixel becomes the unit vector
(cos 2θ, sin 2θ) of its gradient orientation θ (doubling makes it invariant to
contrast reversal), weighted by a saturating function of the gradient magnitude so
flat or noisy areas vote little. Correlating two such 2-channel fields with
TM_CCORR_NORMED is orientation correlation (Fitch et al. 2002) with masking.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
GRADIENT_FLOOR = 16.0  # Sobel units after a sigma-1 blur: ~4 grey levels of edge contrast


def to_gray(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """BGR or gray -> gray (uint8)."""
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def orientation_field(gray: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_] | None = None,
                      blur_sigma: float = 1.0, doubled: bool = True) -> F32:
    """HxWx2 float32: weighted (cos nθ, sin nθ) of the gradient orientation (n = 2 if doubled)."""
    g = gray.astype(np.float32)
    if blur_sigma > 0:
        g = cv2.GaussianBlur(g, (0, 0), blur_sigma)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    if doubled:
        c, s = gx * gx - gy * gy, 2.0 * gx * gy
    else:
        c, s = gx, gy
    mag = np.sqrt(c * c + s * s) + 1e-6
    mag_g = np.sqrt(mag) if doubled else mag  # |gradient|
    # Saturating weight: strong edges ~1, flat or merely noisy areas ~0. The reference is
    # relative (contrast differs between dates) but never below an absolute floor, so
    # sensor noise on water or cloud does not masquerade as structure.
    ref = max(float(np.percentile(mag_g, 75)), GRADIENT_FLOOR)
    w = mag_g / (mag_g + ref)
    if valid is not None:  # zero weight off the eroded coverage (one channel, not two)
        w *= cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8))
    return cv2.merge([c / mag * w, s / mag * w])  # HxWx2 float32, interleaved like np.stack


def texture_score(gray: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_] | None = None) -> float:
    """Fraction of the covered area with a clear edge (|gradient| above twice the absolute
    floor, ~8 grey levels of contrast): ~0 for water, cloud, blank or noise-only frames,
    0.1-0.5 for ordinary terrain, 0.003-0.05 for low-contrast 10 m/px farmland (which the
    orientation correlation still registers: the whole template's coherent weak edges add
    up where per-pixel contrast is low). Absolute on purpose: it must not rescale itself to
    noise (white noise of sigma 8 / 10 grey levels scores ~0.0025 / ~0.02)."""
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    strong = mag > 2.0 * GRADIENT_FLOOR
    if valid is not None:
        inner = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        return float(strong[inner].mean()) if inner.any() else 0.0
    return float(strong.mean())


@dataclass(frozen=True)
class Peak:
    """A correlation peak: the template's top-left offset in the search image (sub-pixel),
    its score, the best score outside the peak's neighbourhood, and the peak's
    curvature-derived 1-sigma localisation (pixels)."""

    dx: float
    dy: float
    score: float
    second: float
    sigma_px: float

    @property
    def distinctiveness(self) -> float:
        """(peak - second) / peak: 0 for an ambiguous match, -> 1 for a unique one."""
        return (self.score - self.second) / max(self.score, 1e-9)


def correlate(search: F32, template: F32, exclusion_px: int = 4) -> tuple[Peak, F32]:
    """Normalised correlation of `template` over every offset within `search`."""
    res = cv2.matchTemplate(search, template, cv2.TM_CCORR_NORMED)
    return peak_of(res, exclusion_px), res


def peak_of(scores: F32, exclusion_px: int = 4) -> Peak:
    """The best offset of a normalised correlation surface (`correlate`'s result), its
    runner-up outside `exclusion_px` and its sub-pixel position and sharpness."""
    res = np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)
    _, best, _, loc = cv2.minMaxLoc(res)
    x, y = loc
    sx, cx = _subpixel(res, x, y, axis=1)
    sy, cy = _subpixel(res, x, y, axis=0)
    masked = res.copy()
    r = exclusion_px
    masked[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = -1.0
    second = float(masked.max()) if masked.size > (2 * r + 1) ** 2 else 0.0
    curv = max(min(cx, cy), 1e-6)  # negative second derivative of the score at the peak
    # Localisation sigma from peak sharpness relative to the noise floor (second peak level).
    sigma = float(np.clip(np.sqrt(max(best - max(second, 0.0), 1e-4) / curv) * 0.35, 0.15, 10.0))
    return Peak(x + sx, y + sy, float(best), second, sigma)


def local_peaks(scores: F32, k: int, exclusion_px: int = 4) -> list[tuple[int, int, float]]:
    """Up to `k` local maxima of a correlation surface as (x, y, score), best first, each
    the highest point within `exclusion_px` of itself (a peak's shoulders are not rivals).
    The places a frame could be, in the order the correlation prefers them."""
    if k <= 0 or scores.size == 0:
        return []
    res = np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)
    size = 2 * exclusion_px + 1
    is_max = (res >= cv2.dilate(res, np.ones((size, size), np.uint8))) & (res > 0)
    ys, xs = np.nonzero(is_max)
    if ys.size == 0:
        return []
    vals = res[ys, xs]
    order = np.argsort(-vals, kind="stable")
    out: list[tuple[int, int, float]] = []
    for i in order:  # plateaus give several equal maxima: keep the first of each neighbourhood
        x, y = int(xs[i]), int(ys[i])
        if all(max(abs(x - ox), abs(y - oy)) > exclusion_px for ox, oy, _ in out):
            out.append((x, y, float(vals[i])))
            if len(out) == k:
                break
    return out


def _subpixel(res: F32, x: int, y: int, axis: int) -> tuple[float, float]:
    """Parabolic sub-pixel offset along `axis` and the (positive) curvature there."""
    n = res.shape[axis]
    i = y if axis == 0 else x
    if i <= 0 or i >= n - 1:
        return 0.0, 0.0
    if axis == 0:
        a, b, c = float(res[y - 1, x]), float(res[y, x]), float(res[y + 1, x])
    else:
        a, b, c = float(res[y, x - 1]), float(res[y, x]), float(res[y, x + 1])
    denom = a - 2.0 * b + c
    if denom >= 0:
        return 0.0, 0.0
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)), float(-denom)
