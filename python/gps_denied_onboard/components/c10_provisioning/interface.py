"""C10's public contracts: the build request and report, the tile-source and
progress protocols it consumes (C11's sources satisfy them structurally; the
operator composition root wires them), and engine artefacts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from uuid import UUID

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import LatLonAlt, TileXYZ
from gps_denied_onboard._types.tiles import MAX_MERCATOR_LAT_DEG
from gps_denied_onboard.components.c10_provisioning.errors import BuildInputError

BBox = tuple[float, float, float, float]  # lat_min, lon_min, lat_max, lon_max
FetchedTile = tuple[TileXYZ, bytes, npt.NDArray[np.bool_]]


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> object:
        ...

    def close(self) -> None:
        ...


# (description, total or None, unit) -> a bar. The CLI passes tqdm; the default is silent.
ProgressFactory = Callable[[str, "int | None", str], ProgressBar]


class NullProgress:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        del n

    def close(self) -> None:
        pass


def null_progress(desc: str, total: int | None, unit: str) -> ProgressBar:
    del desc, total, unit
    return NullProgress()


@runtime_checkable
class TileSource(Protocol):
    """See `c11_tile_manager.download.interface.TileSource` (the implementations)."""

    @property
    def description(self) -> str: ...

    def native_zoom(self, bbox: BBox) -> int: ...

    def coverage_hint(self) -> str: ...

    def prepare(self, tiles: Sequence[TileXYZ], progress: ProgressBar | None = None) -> None: ...

    def identity(self, tiles: Sequence[TileXYZ]) -> str: ...

    def fetch(self, tiles: Sequence[TileXYZ], progress: ProgressBar | None = None) -> Iterator[FetchedTile]: ...


@dataclass(frozen=True)
class BuildRequest:
    """Everything that defines a cache. Every field but `strict_coverage`/`min_coverage`
    and `max_tiles` is part of the build identity (with the extractor and engine runtime)."""

    bbox: BBox
    source: TileSource
    camera_path: Path
    key_path: Path
    out_dir: Path
    takeoff_origin: LatLonAlt | None = None
    flight_id: UUID | None = None
    zoom: int | None = None
    models: tuple[Path, ...] = ()
    strict_coverage: bool = True
    min_coverage: float = 0.99
    validity_days: float = 30.0
    max_tiles: int = 500_000

    def __post_init__(self) -> None:
        if len(self.bbox) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in self.bbox):
            raise BuildInputError("bbox", self.bbox, "4 finite numbers lat_min,lon_min,lat_max,lon_max")
        lat_min, lon_min, lat_max, lon_max = self.bbox
        if not (-MAX_MERCATOR_LAT_DEG <= lat_min < lat_max <= MAX_MERCATOR_LAT_DEG):
            raise BuildInputError("bbox", self.bbox, f"-{MAX_MERCATOR_LAT_DEG:.4f} <= lat_min < lat_max <= {MAX_MERCATOR_LAT_DEG:.4f} (order: lat_min,lon_min,lat_max,lon_max)")
        if not (-180.0 <= lon_min < lon_max <= 180.0):
            raise BuildInputError("bbox", self.bbox, "-180 <= lon_min < lon_max <= 180 (order: lat_min,lon_min,lat_max,lon_max)")
        if self.zoom is not None and not 0 <= self.zoom <= 23:
            raise BuildInputError("zoom", self.zoom, "a zoom level in [0, 23]")
        if not 0.0 < self.min_coverage <= 1.0:
            raise BuildInputError("min_coverage", self.min_coverage, "a fraction in (0, 1]")
        if not 0.0 < self.validity_days <= 3650.0:
            raise BuildInputError("validity_days", self.validity_days, "days in (0, 3650]")
        if self.takeoff_origin is not None:
            o = self.takeoff_origin
            if not (lat_min <= o.lat_deg <= lat_max and lon_min <= o.lon_deg <= lon_max):
                raise BuildInputError("takeoff_origin", (o.lat_deg, o.lon_deg), "a point inside the bbox")


@dataclass(frozen=True)
class EngineArtifact:
    """A compiled model in a cache's engines/ directory."""

    path: Path
    model: str
    model_sha256: str
    backend: str
    runtime_version: str
    gpu_arch: str
    fp16: bool
    sha256: str
    length: int


@dataclass(frozen=True)
class BuildReport:
    """What a build did. `changed` is False when the warm path found the cache up to date."""

    out_dir: Path
    changed: bool
    build_identity: str
    manifest_sha256: str
    version: int
    zoom: int
    tile_count: int
    bytes_total: int
    area_km2: float
    coverage: float
    elapsed_s: float
    descriptor_count: int
    engines: tuple[EngineArtifact, ...] = ()
    warnings: tuple[str, ...] = ()
