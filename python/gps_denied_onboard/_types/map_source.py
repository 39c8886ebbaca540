"""The one map interface the localizer matches against.

A map (a georeferenced raster opened with rasterio, or a provisioned cache) is
seen through a local East-North-Up plane anchored at `frame.origin`: patches are
north-up images with square metric pixels. For a map-pixel (col u, row v) of a
patch, the ground point is
    east  = patch.east_min_m  + (u + 0.5) * patch.gsd_m
    north = patch.north_max_m - (v + 0.5) * patch.gsd_m
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types.geo import EnuFrame


@dataclass(frozen=True)
class MapPatch:
    """A north-up, square-pixel map excerpt. `valid` marks pixels the map covers."""

    image: npt.NDArray[np.uint8]  # H x W x 3 (BGR) or H x W
    valid: npt.NDArray[np.bool_]  # H x W
    east_min_m: float
    north_max_m: float
    gsd_m: float

    def pixel_to_en(self, u: npt.ArrayLike, v: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Map-pixel coordinates -> (east, north) metres in the map's ENU frame."""
        east = self.east_min_m + (np.asarray(u, dtype=np.float64) + 0.5) * self.gsd_m
        north = self.north_max_m - (np.asarray(v, dtype=np.float64) + 0.5) * self.gsd_m
        return east, north

    def en_to_pixel(self, east: npt.ArrayLike, north: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(east, north) metres -> map-pixel coordinates of this patch."""
        u = (np.asarray(east, dtype=np.float64) - self.east_min_m) / self.gsd_m - 0.5
        v = (self.north_max_m - np.asarray(north, dtype=np.float64)) / self.gsd_m - 0.5
        return u, v


@runtime_checkable
class MapSource(Protocol):
    """Read access to a georeferenced orthophoto, whatever stores it."""

    @property
    def frame(self) -> EnuFrame:
        """The local ENU frame all patch coordinates are in."""
        ...

    @property
    def bounds_en_m(self) -> tuple[float, float, float, float]:
        """(east_min, north_min, east_max, north_max) of the map's coverage in `frame`."""
        ...

    @property
    def native_gsd_m(self) -> float:
        """The map's own ground sample distance (metres per pixel)."""
        ...

    def read_patch(self, east_m: float, north_m: float, width_px: int, height_px: int, gsd_m: float) -> MapPatch:
        """A `width_px` x `height_px` north-up patch centred on (east_m, north_m) at `gsd_m`.

        Parts outside the map are zero with `valid` False; never raises for
        out-of-coverage requests (the caller decides what to do with them).
        """
        ...
