"""Maps as `MapSource`s: a georeferenced raster (any CRS rasterio opens) resampled
once to a local ENU grid with square metric pixels, or an in-memory ENU image.

The local grid is PROJ's ellipsoidal orthographic projection centred on the
raster: its (x, y) are exactly the east/north of the tangent plane of the
`EnuFrame` anchored at the same point, so patch coordinates and `EnuFrame`
agree to millimetres over the few kilometres a map spans.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, LatLonAlt, MapPatch
from gps_denied_onboard.components.c7_geo_registration.errors import MapLoadError

_MAX_PIXELS = 64_000_000  # ~190 MB of BGR: refuse rasters that would not fit a Jetson's budget


class InMemoryMap:
    """A north-up, square-pixel ENU image as a `MapSource` (synthetic worlds, tests,
    and the storage behind `GeoRasterMap`)."""

    def __init__(
        self,
        image: npt.NDArray[np.uint8],
        frame: EnuFrame,
        east_min_m: float,
        north_max_m: float,
        gsd_m: float,
        valid: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        if image.ndim not in (2, 3) or image.shape[0] < 2 or image.shape[1] < 2:
            raise MapLoadError("<memory>", f"image shape {image.shape} is not an HxW or HxWx3 raster")
        if not (math.isfinite(gsd_m) and gsd_m > 0):
            raise MapLoadError("<memory>", f"gsd_m={gsd_m!r} must be a positive number of metres")
        self._frame = frame
        self._east_min = float(east_min_m)
        self._north_max = float(north_max_m)
        self._gsd = float(gsd_m)
        h, w = image.shape[:2]
        mask = np.ones((h, w), np.uint8) if valid is None else valid.astype(np.uint8)
        # Pyramid so that a coarse patch is an area average, not an aliased subsample.
        self._levels: list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]] = [(image, mask)]
        while min(self._levels[-1][0].shape[:2]) > 32:
            img, m = self._levels[-1]
            self._levels.append((cv2.pyrDown(img), cv2.resize(m, (img.shape[1] // 2 + img.shape[1] % 2, img.shape[0] // 2 + img.shape[0] % 2), interpolation=cv2.INTER_NEAREST)))

    @property
    def frame(self) -> EnuFrame:
        return self._frame

    @property
    def bounds_en_m(self) -> tuple[float, float, float, float]:
        h, w = self._levels[0][0].shape[:2]
        return (self._east_min, self._north_max - h * self._gsd, self._east_min + w * self._gsd, self._north_max)

    @property
    def native_gsd_m(self) -> float:
        return self._gsd

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the full-resolution grid."""
        h, w = self._levels[0][0].shape[:2]
        return h, w

    def read_patch(self, east_m: float, north_m: float, width_px: int, height_px: int, gsd_m: float) -> MapPatch:
        """See `MapSource.read_patch`: bilinear from the pyramid level at or finer than `gsd_m`."""
        width_px, height_px = int(width_px), int(height_px)
        east_min = east_m - width_px * gsd_m / 2.0
        north_max = north_m + height_px * gsd_m / 2.0
        level = 0
        while level + 1 < len(self._levels) and self._gsd * 2 ** (level + 1) <= gsd_m * 1.0001:
            level += 1
        img, mask = self._levels[level]
        lg = self._gsd * 2**level
        # patch pixel (u, v) centre -> level pixel coordinates (centre convention)
        s = gsd_m / lg
        tx = (east_min - self._east_min) / lg + 0.5 * s - 0.5
        ty = (self._north_max - north_max) / lg + 0.5 * s - 0.5
        m = np.array([[s, 0.0, tx], [0.0, s, ty]], dtype=np.float64)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        out = cv2.warpAffine(img, m, (width_px, height_px), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        valid = cv2.warpAffine(mask, m, (width_px, height_px), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return MapPatch(out, valid.astype(bool), east_min, north_max, float(gsd_m))


class GeoRasterMap(InMemoryMap):
    """Any georeferenced raster rasterio opens (GeoTIFF/COG, PNG/JPEG + world file + .prj),
    in any CRS, resampled to square metric pixels on the local ENU grid centred on it.

    `gsd_m` overrides the grid's pixel size (default: the raster's finer native axis).
    """

    def __init__(self, path: str | Path, gsd_m: float | None = None) -> None:
        import rasterio  # lazy: the airborne binary imports this only when a raster map is used
        from rasterio.crs import CRS
        from rasterio.errors import RasterioError
        from rasterio.warp import Resampling, calculate_default_transform, reproject, transform

        path_s = str(path)
        try:
            src_ctx = rasterio.open(path_s)
        except (RasterioError, OSError) as exc:
            raise MapLoadError(path_s, f"rasterio cannot open it ({exc})") from exc
        with src_ctx as src:
            src_crs = src.crs if src.crs is not None else _sidecar_crs(Path(path_s), CRS)
            if src_crs is None:
                raise MapLoadError(path_s, "no CRS (give a .prj / GeoTIFF CRS tags beside the world file)")
            if src.transform.is_identity:
                raise MapLoadError(path_s, "no geotransform (no world file or GeoTIFF georeference)")
            cx, cy = src.transform @ (src.width / 2.0, src.height / 2.0)
            lons, lats = transform(src_crs, "EPSG:4326", [cx], [cy])
            lat0, lon0 = float(lats[0]), float(lons[0])
            dst_crs = CRS.from_proj4(f"+proj=ortho +lat_0={lat0:.10f} +lon_0={lon0:.10f} +ellps=WGS84 +units=m +no_defs")
            native = _native_gsd(src.transform, src_crs, dst_crs, src.width, src.height, transform)
            res = float(gsd_m) if gsd_m is not None else native
            if not (math.isfinite(res) and res > 0):
                raise MapLoadError(path_s, f"ground sample distance {res!r} is not usable")
            dt, dw, dh = calculate_default_transform(src_crs, dst_crs, src.width, src.height, *src.bounds, resolution=res)
            if dw * dh > _MAX_PIXELS:
                raise MapLoadError(path_s, f"{dw}x{dh} px at {res:.3f} m/px exceeds {_MAX_PIXELS} px; pass a coarser gsd_m")
            bands = min(src.count, 3)
            data = np.zeros((bands, dh, dw), np.uint8)
            try:
                src_data = src.read(list(range(1, bands + 1)))
            except RasterioError as exc:
                raise MapLoadError(path_s, f"reading pixels failed ({exc})") from exc
            if src_data.dtype != np.uint8:
                src_data = _to_uint8(src_data)
            src_mask = (src.dataset_mask() > 0).astype(np.uint8)
            for b in range(bands):
                reproject(src_data[b], data[b], src_transform=src.transform, src_crs=src_crs,
                          dst_transform=dt, dst_crs=dst_crs, resampling=Resampling.bilinear)
            mask = np.zeros((dh, dw), np.uint8)
            reproject(src_mask, mask, src_transform=src.transform, src_crs=src_crs, dst_transform=dt,
                      dst_crs=dst_crs, resampling=Resampling.nearest, dst_nodata=0, src_nodata=None)
        image = data[0] if bands == 1 else np.ascontiguousarray(data[::-1].transpose(1, 2, 0))  # RGB -> BGR
        self.path = Path(path_s)
        self.source_crs = str(src_crs)
        super().__init__(image, EnuFrame(LatLonAlt(lat0, lon0, 0.0)), float(dt.c), float(dt.f), res, mask > 0)
        self.native_source_gsd_m = native


def _sidecar_crs(path: Path, crs_cls: type) -> object | None:
    """The CRS of a `.prj` beside the image (GDAL reads it for some drivers only)."""
    prj = path.with_suffix(".prj")
    if not prj.is_file():
        return None
    try:
        return crs_cls.from_wkt(prj.read_text(encoding="utf-8", errors="replace").strip())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - rasterio raises CRSError or plain ValueError here depending on version
        return None


def _native_gsd(src_transform: object, src_crs: object, dst_crs: object, width: int, height: int, transform: object) -> float:
    """The finer of the raster's two metric pixel sizes at its centre."""
    c, r = width / 2.0, height / 2.0
    pts = [src_transform @ (c, r), src_transform @ (c + 1.0, r), src_transform @ (c, r + 1.0)]  # type: ignore[operator]
    xs, ys = transform(src_crs, dst_crs, [p[0] for p in pts], [p[1] for p in pts])  # type: ignore[operator]
    dx = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
    dy = math.hypot(xs[2] - xs[0], ys[2] - ys[0])
    return float(min(dx, dy))


def _to_uint8(data: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Stretch non-8-bit imagery (e.g. 16-bit GeoTIFF) to 8 bits by its 1-99 % range."""
    arr = data.astype(np.float64)
    lo, hi = np.nanpercentile(arr, 1), np.nanpercentile(arr, 99)
    scale = 255.0 / max(hi - lo, 1e-9)
    return np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
