"""Global (re)localisation candidates: descriptors of overlapping map tiles, exact
cosine search (the maps this runs on hold thousands of tiles, not millions)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import MapSource
from gps_denied_onboard.components.c6_place_recognition.errors import PlaceRecognitionError
from gps_denied_onboard.components.c8_inference import DescriptorExtractor


@dataclass(frozen=True)
class Candidate:
    east_m: float
    north_m: float
    similarity: float


class TileIndex:
    """Descriptors of square map tiles `tile_m` wide every `stride_m` over the map."""

    def __init__(self, map_source: MapSource, extractor: DescriptorExtractor, tile_m: float,
                 stride_m: float | None = None, tile_px: int = 128, min_valid: float = 0.5) -> None:
        if not (math.isfinite(tile_m) and tile_m > 0):
            raise PlaceRecognitionError(f"tile_m={tile_m!r} must be a positive number of metres")
        self.extractor = extractor
        self.tile_m = float(tile_m)
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
        self.centres = np.asarray(centres, np.float64)
        self.descriptors: npt.NDArray[np.float32] = extractor.describe(images)

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
