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

Memory: 9 bytes per cached pixel (2 float32 channels + a validity byte), e.g. ~4.7 MB
for a 700 x 700 px coarse map; the budget bounds the sum over scales.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

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


@dataclass(frozen=True)
class MapField:
    """The orientation field of the whole map at `gsd_m` on a north-up grid whose pixel
    (0, 0) has its top-left corner at (`east_min_m`, `north_max_m`)."""

    field: F32                    # H x W x 2
    valid: npt.NDArray[np.bool_]  # H x W
    east_min_m: float
    north_max_m: float
    gsd_m: float

    @property
    def nbytes(self) -> int:
        """Memory the arrays hold."""
        return int(self.field.nbytes + self.valid.nbytes)

    def crop(self, east_m: float, north_m: float, width_px: int, height_px: int) -> tuple[F32, MapPatch]:
        """The field over a `width_px` x `height_px` window centred on (east, north),
        zero (and invalid) outside the map, and the window's geometry as a `MapPatch`
        (its `image` is empty: the field stands for it)."""
        g = self.gsd_m
        u0 = int(round((east_m - width_px * g / 2.0 - self.east_min_m) / g))
        v0 = int(round((self.north_max_m - (north_m + height_px * g / 2.0)) / g))
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


def compute_map_field(map_source: MapSource, gsd_m: float) -> MapField:
    """Read the whole map at `gsd_m` (plus a zero margin) and derive its orientation field."""
    e0, n0, e1, n1 = map_source.bounds_en_m
    w = int(math.ceil((e1 - e0) / gsd_m)) + 2 * _MARGIN_PX
    h = int(math.ceil((n1 - n0) / gsd_m)) + 2 * _MARGIN_PX
    east_min = e0 - _MARGIN_PX * gsd_m
    north_max = n1 + _MARGIN_PX * gsd_m
    patch = map_source.read_patch(east_min + w * gsd_m / 2.0, north_max - h * gsd_m / 2.0, w, h, gsd_m)
    field = orientation_field(to_gray(patch.image), patch.valid)
    return MapField(field, patch.valid, patch.east_min_m, patch.north_max_m, gsd_m)


class MapFieldCache:
    """Whole-map orientation fields by scale, least recently used evicted beyond
    `max_bytes`. A map larger than `max_field_px` at a scale is not cached (`get`
    returns None: the caller reads patches as before), which also bounds the one-off
    cost of deriving a field. Single-threaded, like the pipeline."""

    def __init__(self, map_source: MapSource, max_bytes: int, max_field_px: int | None = None) -> None:
        self.map = map_source
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
        e0, n0, e1, n1 = self.map.bounds_en_m
        w = math.ceil((e1 - e0) / gsd_m) + 2 * _MARGIN_PX
        h = math.ceil((n1 - n0) / gsd_m) + 2 * _MARGIN_PX
        return w * h <= self.max_field_px

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
        mf = compute_map_field(self.map, gsd_m)
        self.computed += 1
        self._fields[key] = mf
        while self.nbytes > self.max_bytes and len(self._fields) > 1:
            self._fields.popitem(last=False)
        return mf
