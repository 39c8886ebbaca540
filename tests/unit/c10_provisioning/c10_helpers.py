"""Shared helpers of C10's tests: a workspace (raster, camera, key) and a tiny descriptor extractor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c10_provisioning import BuildRequest, generate_operator_key
from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource
from tests.testlib.rasters import make_geotiff

CAMERA_YAML = """sensor_type: camera
resolution: [640, 480]
camera_model: pinhole
intrinsics: [500.0, 500.0, 319.5, 239.5]
distortion_model: radial-tangential
distortion_coefficients: [0.0, 0.0, 0.0, 0.0]
"""


class TinyExtractor:
    """Per-channel mean and std, L2-normalised: a real (if weak) global descriptor."""

    def __init__(self, *, fail_on_batch: int | None = None) -> None:
        self.batches: list[int] = []
        self.sizes: list[tuple[int, ...]] = []
        self._fail = fail_on_batch

    @property
    def name(self) -> str:
        return "tiny-meanstd-v1"

    @property
    def dim(self) -> int:
        return 6

    def describe(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        if self._fail is not None and len(self.batches) == self._fail:
            raise RuntimeError("extractor crashed")
        self.batches.append(len(images))
        rows = []
        for img in images:
            self.sizes.append(img.shape)
            f = img.reshape(-1, 3).astype(np.float64)
            v = np.concatenate([f.mean(axis=0), f.std(axis=0)]) + 1e-3
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32).reshape(len(images), 6)


class Workspace:
    """A raster, a camera file, an operator key and an output dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.raster = make_geotiff(root / "map.tif", size=800, marker_px=(400, 300))
        self.camera = root / "camera.yaml"
        self.camera.write_text(CAMERA_YAML)
        self.key, self.pub, self.key_id = generate_operator_key(root / "operator_ed25519.pem")
        self.out = root / "out" / "cache"
        self.source = RasterTileSource(self.raster)
        lat_min, lon_min, lat_max, lon_max = self.source.bounds_latlon
        m = 0.0006  # inside the raster by ~50 m
        self.bbox = (lat_min + m, lon_min + m, lat_max - m, lon_max - m)

    def request(self, **kw: object) -> BuildRequest:
        args: dict[str, object] = {"bbox": self.bbox, "source": self.source, "camera_path": self.camera,
                                   "key_path": self.key, "out_dir": self.out}
        args.update(kw)
        return BuildRequest(**args)  # type: ignore[arg-type]


