"""Global (re)localisation candidates: descriptors of overlapping map tiles, exact
cosine search (the maps this runs on hold thousands of tiles, not millions)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import MapSource
from gps_denied_onboard.components.c6_place_recognition.errors import PlaceRecognitionError
from gps_denied_onboard.components.c6_place_recognition.precomputed import DescribedMap, unusable_reason
from gps_denied_onboard.components.c8_inference import DescriptorExtractor
from gps_denied_onboard.logging import get_logger

_log = get_logger("c6_place_recognition")


@dataclass(frozen=True)
class Candidate:
    east_m: float
    north_m: float
    similarity: float


class TileIndex:
    """Descriptors of square map tiles `tile_m` wide every `stride_m` over the map.

    When `map_source` is a `DescribedMap` whose table was made by an extractor of the
    same `name` (and dimension), its rows are the index: window centres from the
    footprints, `tile_m` the windows' median side (the provisioning's layout, not
    the requested one), and nothing is described at construction. Otherwise the
    map is read and described here. Either way one `reloc_index_source` event says
    which (`source` = "cache" or "built", with the reason for building)."""

    def __init__(self, map_source: MapSource, extractor: DescriptorExtractor, tile_m: float,
                 stride_m: float | None = None, tile_px: int = 128, min_valid: float = 0.5) -> None:
        if not (math.isfinite(tile_m) and tile_m > 0):
            raise PlaceRecognitionError(f"tile_m={tile_m!r} must be a positive number of metres")
        self.extractor = extractor
        t0 = time.perf_counter()
        table = map_source.global_descriptors() if isinstance(map_source, DescribedMap) else None
        reason = unusable_reason(table, extractor.name, extractor.dim)
        if table is not None and not reason:
            f = np.asarray(table.footprints_en_m, np.float64)
            self.centres = np.column_stack([(f[:, 0] + f[:, 2]) / 2.0, (f[:, 1] + f[:, 3]) / 2.0])
            self.tile_m = float(np.median(np.maximum(f[:, 2] - f[:, 0], f[:, 3] - f[:, 1])))
            self.descriptors: npt.NDArray[np.float32] = np.ascontiguousarray(table.matrix, np.float32)
            self.source = "cache"
        else:
            self.tile_m = float(tile_m)
            self.centres, self.descriptors = self._build(map_source, stride_m, tile_px, min_valid)
            self.source = "built"
        _log.info("place-recognition index ready", kind="reloc_index_source", source=self.source, reason=reason,
                  extractor=extractor.name, rows=len(self.centres), tile_m=round(self.tile_m, 1),
                  requested_tile_m=round(float(tile_m), 1), seconds=round(time.perf_counter() - t0, 3))

    def _build(self, map_source: MapSource, stride_m: float | None, tile_px: int, min_valid: float
               ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        stride = float(stride_m) if stride_m else self.tile_m / 3.0
        e0, n0, e1, n1 = map_source.bounds_en_m
        es = np.arange(e0 + stride / 2, e1, stride)
        ns = np.arange(n0 + stride / 2, n1, stride)
        centres, images = [], []
        for n in ns:
            for e in es:
                p = map_source.read_patch(float(e), float(n), tile_px, tile_px, self.tile_m / tile_px)
                if p.valid.mean() >= min_valid:
                    centres.append((float(e), float(n)))
                    images.append(p.image)
        if not centres:
            raise PlaceRecognitionError("the map holds no tile with enough valid pixels to index")
        return np.asarray(centres, np.float64), self.extractor.describe(images)

    def __len__(self) -> int:
        return len(self.centres)

    def query(self, image: npt.NDArray[np.uint8], k: int = 5, min_separation_m: float | None = None) -> list[Candidate]:
        """Top-k tiles by cosine similarity to a north-up image covering `tile_m` metres,
        suppressing candidates closer than `min_separation_m` to a better one."""
        q = self.extractor.describe([image])[0]
        sims = self.descriptors @ q
        order = np.argsort(-sims)
        sep = self.tile_m / 2.0 if min_separation_m is None else min_separation_m
        out: list[Candidate] = []
        for i in order:
            c = self.centres[i]
            if all(math.hypot(c[0] - o.east_m, c[1] - o.north_m) >= sep for o in out):
                out.append(Candidate(float(c[0]), float(c[1]), float(sims[i])))
                if len(out) >= k:
                    break
        return out
