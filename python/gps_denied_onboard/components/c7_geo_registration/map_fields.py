"""The map's orientation field at a relocalisation scale, computed once and cropped per
search instead of re-read and re-derived at every relocalisation.

Why: a relocalisation without a prior correlates the frame against the whole map at a
coarse scale. Reading that patch and deriving its orientation field cost 15-60 ms per
search (the largest avoidable cost of a relocalisation frame), although it depends only
on the map and the scale. The coarse scale follows the flight height on the ortho's
2^(1/8) ladder (`orthorectify`), so a flight uses a few scales: the cache holds the
fields of the most recently used ones within a byte budget (least recently used out).

A crop is a window of the cached grid: its origin is snapped to a whole cached pixel
(at most half a pixel from the requested one) and its geometry is that of the window
actually returned, so positions derived from it stay exact.

The whole-map correlation itself (`matchTemplate` over the map, 25-60 ms) is done in
the frequency domain against the field's cached spectrum: per search only the
template is transformed (`MapField.correlate`, the same scores to ~1e-6).

Memory: 9 bytes per cached pixel (2 float32 channels + a validity byte) plus 8 bytes
per pixel of the spectrum's grid (the map plus a template along each axis), e.g.
~2.3 + 3.9 MB for a 410 x 630 px coarse map; the budget bounds the sum over scales.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import MapPatch, MapSource
from gps_denied_onboard.components.c7_geo_registration.matching import orientation_field, to_gray

F32 = npt.NDArray[np.float32]
_BYTES_PER_PX = 9  # 2 x float32 field + 1 byte validity
# Zero margin around the map when deriving its field: the blur, the gradients and the
# validity erosion then see the same map border as a patch read across it would.
_MARGIN_PX = 8


def scale_key(gsd_m: float, native_gsd_m: float) -> int:
    """The scale's step on the ortho's 2^(1/8) ladder above the map's own resolution
    (`orthorectify` snaps coarsened scales to it; the native scale is step 0)."""
    return int(round(8.0 * math.log2(max(gsd_m, 1e-12) / native_gsd_m)))


@dataclass(frozen=True, eq=False)  # arrays: identity, not element-wise ==
class Spectrum:
    """The DFT of the map field (at grid pixel (0, 0)) zero-padded by at least
    `template_px` on the far side of each axis: a template up to that size then never
    overlaps two periodic copies of the map, so the circular correlation equals the
    linear one wherever the template overlaps the map (and the window's energy, zero
    elsewhere, makes the score 0 there, as matchTemplate's)."""

    dft: F32  # N x M x 2 (complex)
    template_px: int


@dataclass(frozen=True, eq=False)  # arrays: identity, not element-wise ==
class MapField:
    """The orientation field of the whole map at `gsd_m` on a north-up grid whose pixel
    (0, 0) has its top-left corner at (`east_min_m`, `north_max_m`), and optionally its
    spectrum for whole-map correlations."""

    field: F32                    # H x W x 2
    valid: npt.NDArray[np.bool_]  # H x W
    east_min_m: float
    north_max_m: float
    gsd_m: float
    spectrum: Spectrum | None = None

    @property
    def nbytes(self) -> int:
        """Memory the arrays hold."""
        spec = self.spectrum.dft.nbytes if self.spectrum is not None else 0
        return int(self.field.nbytes + self.valid.nbytes + spec)

    def origin(self, east_m: float, north_m: float, width_px: int, height_px: int) -> tuple[int, int]:
        """Cached pixel of the top-left corner of a window centred on (east, north),
        snapped to a whole pixel."""
        g = self.gsd_m
        u0 = int(round((east_m - width_px * g / 2.0 - self.east_min_m) / g))
        v0 = int(round((self.north_max_m - (north_m + height_px * g / 2.0)) / g))
        return u0, v0

    def crop(self, east_m: float, north_m: float, width_px: int, height_px: int) -> tuple[F32, MapPatch]:
        """The field over a `width_px` x `height_px` window centred on (east, north),
        zero (and invalid) outside the map, and the window's geometry as a `MapPatch`
        (its `image` is empty: the field stands for it)."""
        g = self.gsd_m
        u0, v0 = self.origin(east_m, north_m, width_px, height_px)
        h, w = self.valid.shape
        field = np.zeros((height_px, width_px, 2), np.float32)
        valid = np.zeros((height_px, width_px), bool)
        su0, sv0 = max(u0, 0), max(v0, 0)
        su1, sv1 = min(u0 + width_px, w), min(v0 + height_px, h)
        if su1 > su0 and sv1 > sv0:
            field[sv0 - v0:sv1 - v0, su0 - u0:su1 - u0] = self.field[sv0:sv1, su0:su1]
            valid[sv0 - v0:sv1 - v0, su0 - u0:su1 - u0] = self.valid[sv0:sv1, su0:su1]
        patch = MapPatch(np.zeros((0, 0), np.uint8), valid, self.east_min_m + u0 * g, self.north_max_m - v0 * g, g)
        return field, patch

    def correlate(self, window: F32, template: F32, u0: int, v0: int) -> F32 | None:
        """`cv2.matchTemplate(window, template, TM_CCORR_NORMED)` for `window` = the crop
        with origin (u0, v0), computed against the cached spectrum (one template DFT and
        one inverse instead of OpenCV's block DFTs of the whole window). None when there
        is no spectrum, the template is larger than it allows, or the window is much
        smaller than its grid (the caller correlates directly)."""
        ph, pw = window.shape[:2]
        th, tw = template.shape[:2]
        spec = self.spectrum
        if spec is None or th > ph or tw > pw or max(th, tw) > spec.template_px:
            return None
        n, m = spec.dft.shape[:2]
        if ph * pw < 0.4 * n * m:
            return None  # a window much smaller than the grid: matchTemplate over it is cheaper
        padded = np.zeros((n, m, 2), np.float32)
        padded[:th, :tw] = template
        # the real part of IDFT(S * conj(T)) is sum over the template of S(x + d) . T(x)
        prod = cv2.mulSpectrums(spec.dft, cv2.dft(padded, nonzeroRows=th), 0, conjB=True)
        full = cv2.idft(prod, flags=cv2.DFT_SCALE)[..., 0]
        ry, rx = ph - th + 1, pw - tw + 1
        # window offset j is map offset v0 + j: periodic in the grid (see `Spectrum`)
        num = np.take(np.take(full, (v0 + np.arange(ry)) % n, axis=0), (u0 + np.arange(rx)) % m, axis=1)
        # normalisation as OpenCV's: the window's energy under the template (a box sum,
        # accumulated in double by OpenCV) times the template's norm
        sq = window[..., 0] * window[..., 0]
        sq += window[..., 1] * window[..., 1]
        energy = cv2.boxFilter(sq, cv2.CV_32F, (tw, th), anchor=(0, 0), normalize=False,
                               borderType=cv2.BORDER_CONSTANT)[:ry, :rx]
        t_norm = float(np.sqrt(np.sum(template.astype(np.float64) ** 2)))
        denom = cv2.sqrt(np.maximum(energy, 0.0, out=energy))
        denom *= np.float32(t_norm)
        out = np.zeros((ry, rx), np.float32)
        # Windows that barely touch the map: the transform's rounding (relative to the
        # whole map's energy) would dominate their tiny correlation, so they score 0, as
        # a window with nothing in it does.
        np.divide(num, denom, out=out, where=denom > 1e-3 * t_norm * t_norm)
        return np.clip(out, -1.0, 1.0, out=out)


def _grid(height_px: int, width_px: int, template_px: int) -> tuple[int, int]:
    return int(cv2.getOptimalDFTSize(height_px + template_px)), int(cv2.getOptimalDFTSize(width_px + template_px))


def map_spectrum(field: F32, template_px: int) -> Spectrum:
    """The field's DFT on a grid padded for templates up to `template_px` a side."""
    h, w = field.shape[:2]
    n, m = _grid(h, w, template_px)
    grid = np.zeros((n, m, 2), np.float32)
    grid[:h, :w] = field
    return Spectrum(cv2.dft(grid), template_px)


def spectrum_bytes(height_px: int, width_px: int, template_px: int) -> int:
    """Memory of `map_spectrum`'s grid for a field of that size."""
    n, m = _grid(height_px, width_px, template_px)
    return n * m * 8


def _field_shape(map_source: MapSource, gsd_m: float) -> tuple[int, int]:
    """(height, width) px of the whole map's field at `gsd_m`, margins included."""
    e0, n0, e1, n1 = map_source.bounds_en_m
    return math.ceil((n1 - n0) / gsd_m) + 2 * _MARGIN_PX, math.ceil((e1 - e0) / gsd_m) + 2 * _MARGIN_PX


def compute_map_field(map_source: MapSource, gsd_m: float, template_px: int | None = None) -> MapField:
    """Read the whole map at `gsd_m` (plus a zero margin) and derive its orientation field
    (and, given the largest template side, its spectrum for whole-map correlations)."""
    e0, _, _, n1 = map_source.bounds_en_m
    h, w = _field_shape(map_source, gsd_m)
    east_min = e0 - _MARGIN_PX * gsd_m
    north_max = n1 + _MARGIN_PX * gsd_m
    patch = map_source.read_patch(east_min + w * gsd_m / 2.0, north_max - h * gsd_m / 2.0, w, h, gsd_m)
    field = orientation_field(to_gray(patch.image), patch.valid)
    spec = map_spectrum(field, template_px) if template_px is not None else None
    return MapField(field, patch.valid, patch.east_min_m, patch.north_max_m, gsd_m, spec)


class MapFieldCache:
    """Whole-map orientation fields by scale, least recently used evicted beyond
    `max_bytes`. A map larger than `max_field_px` at a scale is not cached (`get`
    returns None: the caller reads patches as before), which also bounds the one-off
    cost of deriving a field. Single-threaded, like the pipeline."""

    def __init__(self, map_source: MapSource, max_bytes: int, max_field_px: int | None = None,
                 template_px: int | None = None) -> None:
        self.map = map_source
        self.template_px = template_px  # largest template side: also keep spectra (see module doc)
        self.max_bytes = int(max_bytes)
        self.max_field_px = min(int(max_field_px), self.max_bytes // _BYTES_PER_PX) if max_field_px is not None \
            else self.max_bytes // _BYTES_PER_PX
        self._fields: OrderedDict[int, MapField] = OrderedDict()
        self.computed = 0  # how many fields were derived (a miss each)

    @property
    def nbytes(self) -> int:
        """Memory the cached fields hold now."""
        return sum(f.nbytes for f in self._fields.values())

    def keys(self) -> list[int]:
        """Cached scale keys, least recently used first."""
        return list(self._fields)

    def fits(self, gsd_m: float) -> bool:
        """Whether the whole map's field at `gsd_m` is small enough to cache."""
        h, w = _field_shape(self.map, gsd_m)
        spec = spectrum_bytes(h, w, self.template_px) if self.template_px is not None else 0
        return w * h <= self.max_field_px and w * h * _BYTES_PER_PX + spec <= self.max_bytes

    def get(self, gsd_m: float) -> MapField | None:
        """The whole map's field at `gsd_m` (derived on a miss), or None if it would not fit."""
        key = scale_key(gsd_m, self.map.native_gsd_m)
        hit = self._fields.get(key)
        if hit is not None and math.isclose(hit.gsd_m, gsd_m, rel_tol=1e-9):
            self._fields.move_to_end(key)
            return hit
        if not self.fits(gsd_m):
            return None
        self._fields.pop(key, None)  # same step, another scale (not on the ladder): replace
        mf = compute_map_field(self.map, gsd_m, self.template_px)
        self.computed += 1
        self._fields[key] = mf
        while self.nbytes > self.max_bytes and len(self._fields) > 1:
            self._fields.popitem(last=False)
        return mf
