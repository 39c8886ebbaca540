"""Global descriptors computed at provisioning time, carried with the map they describe.

A signed cache holds one descriptor per window of tiles (C4 `descriptors()`), made
with `default_descriptor_extractor()` by `operator provision`. `DescribedMap` wraps
the cache's `MapSource` with that table so `TileIndex` can use it instead of
re-describing the whole map at the first relocalisation."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, MapPatch, MapSource


class DescriptorTable(Protocol):
    """What C6 reads of precomputed descriptors (C4's `DescriptorIndex` has these):
    the extractor's `name`, one L2-normalised row per window, and each window's
    (east_min, north_min, east_max, north_max) in the map source's frame."""

    @property
    def extractor(self) -> str: ...

    @property
    def matrix(self) -> npt.NDArray[np.float32]: ...

    @property
    def footprints_en_m(self) -> npt.NDArray[np.float64]: ...


class DescribedMap:
    """A `MapSource` (delegating every read) that also carries the descriptor table
    provisioned with it (None when the cache was built without one)."""

    def __init__(self, map_source: MapSource, descriptors: DescriptorTable | None) -> None:
        self._map = map_source
        self._descriptors = descriptors

    @property
    def frame(self) -> EnuFrame:
        return self._map.frame

    @property
    def bounds_en_m(self) -> tuple[float, float, float, float]:
        return self._map.bounds_en_m

    @property
    def native_gsd_m(self) -> float:
        return self._map.native_gsd_m

    def read_patch(self, east_m: float, north_m: float, width_px: int, height_px: int, gsd_m: float) -> MapPatch:
        return self._map.read_patch(east_m, north_m, width_px, height_px, gsd_m)

    def global_descriptors(self) -> DescriptorTable | None:
        """The provisioned descriptor table, if any."""
        return self._descriptors


def unusable_reason(table: DescriptorTable | None, extractor_name: str, dim: int) -> str:
    """Why `table` cannot stand in for descriptors `extractor_name` would compute ('' when it can)."""
    if table is None:
        return "map carries no precomputed descriptors"
    if table.extractor != extractor_name:
        return f"extractor mismatch: cache {table.extractor!r}, runtime {extractor_name!r}"
    m, f = table.matrix, table.footprints_en_m
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] != dim:
        return f"descriptor matrix shape {m.shape} does not match ({'N'}, {dim})"
    if f.shape != (m.shape[0], 4):
        return f"footprints shape {f.shape} does not match {m.shape[0]} rows"
    if not (np.isfinite(m).all() and np.isfinite(f).all()):
        return "non-finite descriptor or footprint values"
    return ""
