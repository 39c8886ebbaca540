"""Georeferenced rasters seen through a local ENU plane.

A raster in any CRS rasterio knows (GeoTIFF, or PNG + world file + .prj) is
paired with an `EnuFrame` anchored at its centre at ground altitude. The
mapping between ENU (east, north) metres and raster pixels (OpenCV convention:
the centre of the top-left pixel is (0, 0)) is exact geodesy evaluated on a
grid (pixel -> CRS -> WGS84 -> ENU) and fitted with a cubic polynomial in each
direction; the fit's worst residual is checked to be far below a pixel, so the
simulator and the scorer agree with the map to the millimetre.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import EnuFrame, LatLonAlt
from gps_denied_onboard.components.c12_sim.errors import RasterError

F64 = npt.NDArray[np.float64]
_FIT_TOL_PX = 1e-3
_GRID = 21


def _features(x: F64, y: F64) -> F64:
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y, x**3, x * x * y, x * y * y, y**3], axis=-1)


@dataclass(frozen=True, eq=False)
class _Poly:
    """Cubic bivariate polynomial (x, y) -> (p, q) on normalised inputs."""

    x0: float
    y0: float
    scale: float
    coef: F64  # 10 x 2

    @staticmethod
    def fit(x: F64, y: F64, p: F64, q: F64) -> tuple[_Poly, float]:
        x0, y0 = float(np.mean(x)), float(np.mean(y))
        scale = float(max(np.ptp(x), np.ptp(y), 1e-9)) / 2.0
        a = _features((x - x0) / scale, (y - y0) / scale)
        coef, *_ = np.linalg.lstsq(a, np.stack([p, q], axis=1), rcond=None)
        poly = _Poly(x0, y0, scale, np.asarray(coef, dtype=np.float64))
        pp, qq = poly(x, y)
        return poly, float(np.max(np.hypot(pp - p, qq - q)))

    def __call__(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[F64, F64]:
        xa = (np.asarray(x, dtype=np.float64) - self.x0) / self.scale
        ya = (np.asarray(y, dtype=np.float64) - self.y0) / self.scale
        c = self.coef
        # Horner-like evaluation without building the full feature matrix (fast on megapixel grids).
        out = []
        for k in range(2):
            out.append(
                c[0, k] + xa * (c[1, k] + xa * (c[3, k] + xa * c[6, k]) + ya * (c[4, k] + xa * c[7, k] + ya * c[8, k]))
                + ya * (c[2, k] + ya * (c[5, k] + ya * c[9, k]))
            )
        return out[0], out[1]


@dataclass(frozen=True, eq=False)
class GeoRaster:
    """A raster image (BGR uint8) with its georeference and a local ENU frame."""

    path: Path
    image: npt.NDArray[np.uint8]
    valid: npt.NDArray[np.bool_]
    frame: EnuFrame
    crs: str
    _to_px: _Poly
    _to_en: _Poly

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def en_to_pixel(self, east: npt.ArrayLike, north: npt.ArrayLike) -> tuple[F64, F64]:
        """ENU metres -> raster pixel (col, row), OpenCV convention."""
        return self._to_px(east, north)

    def pixel_to_en(self, col: npt.ArrayLike, row: npt.ArrayLike) -> tuple[F64, F64]:
        """Raster pixel (col, row) -> ENU metres."""
        return self._to_en(col, row)

    @property
    def gsd_m(self) -> tuple[float, float]:
        """Ground size of one pixel (along a row, along a column) at the centre, metres."""
        c, r = (self.width - 1) / 2.0, (self.height - 1) / 2.0
        e0, n0 = self.pixel_to_en(c, r)
        e1, n1 = self.pixel_to_en(c + 1.0, r)
        e2, n2 = self.pixel_to_en(c, r + 1.0)
        return float(np.hypot(e1 - e0, n1 - n0)), float(np.hypot(e2 - e0, n2 - n0))

    @property
    def mean_gsd_m(self) -> float:
        """Geometric mean pixel size: the unit for errors "in map pixels" on non-square grids."""
        gx, gy = self.gsd_m
        return float(np.sqrt(gx * gy))

    def inner_bounds_en(self) -> tuple[float, float, float, float]:
        """(east_min, north_min, east_max, north_max) of the largest ENU box inside the raster."""
        w, h = self.width, self.height
        ts = np.linspace(0.0, 1.0, 50)
        edges = [
            (ts * (w - 1), np.zeros_like(ts)), (ts * (w - 1), np.full_like(ts, h - 1.0)),
            (np.zeros_like(ts), ts * (h - 1)), (np.full_like(ts, w - 1.0), ts * (h - 1)),
        ]
        top = self.pixel_to_en(*edges[0])
        bottom = self.pixel_to_en(*edges[1])
        left = self.pixel_to_en(*edges[2])
        right = self.pixel_to_en(*edges[3])
        return (
            float(np.max(left[0])), float(np.max(bottom[1])), float(np.min(right[0])), float(np.min(top[1]))
        )

    def en_to_latlon(self, east: npt.ArrayLike, north: npt.ArrayLike, up: float = 0.0) -> tuple[F64, F64]:
        """ENU metres -> (lat, lon) degrees."""
        e = np.atleast_1d(np.asarray(east, dtype=np.float64))
        n = np.atleast_1d(np.asarray(north, dtype=np.float64))
        lat = np.empty_like(e)
        lon = np.empty_like(e)
        for i in range(e.shape[0]):
            p = self.frame.to_geodetic((float(e[i]), float(n[i]), up))
            lat[i], lon[i] = p.lat_deg, p.lon_deg
        return lat, lon

    def latlon_to_en(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[F64, F64]:
        """(lat, lon) degrees -> ENU metres (on the ground plane)."""
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        e = np.full_like(la, np.nan)
        n = np.full_like(la, np.nan)
        for i in range(la.shape[0]):
            if np.isfinite(la[i]) and np.isfinite(lo[i]):
                v = self.frame.to_enu(LatLonAlt(float(la[i]), float(lo[i]), self.frame.origin.alt_m))
                e[i], n[i] = v[0], v[1]
        return e, n


def load_georaster(path: str | Path, *, ground_alt_m: float = 0.0) -> GeoRaster:
    """Open a georeferenced raster (rasterio): 1, 3 or 4 bands (alpha marks validity)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.warp import transform as warp_transform

    p = Path(path)
    if not p.is_file():
        raise RasterError("raster file does not exist", path=p)
    try:
        with warnings.catch_warnings():
            # A plain image opens with an identity transform and a warning; we refuse it below.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(p)
        with ds:
            if ds.crs is None:
                raise RasterError("raster has no CRS (needs a GeoTIFF, or a world file plus .prj)", path=p, field="crs")
            if ds.transform.is_identity:
                raise RasterError("raster has no geotransform", path=p, field="transform")
            data = ds.read()
            affine = ds.transform
            crs = ds.crs.to_string()
            nodata = ds.nodata
    except RasterioError as exc:
        raise RasterError(f"cannot open raster: {exc}", path=p) from exc
    if data.dtype != np.uint8:
        raise RasterError("only 8-bit rasters are supported", path=p, field="dtype", value=str(data.dtype))
    bands = data.shape[0]
    if bands == 1:
        rgb = np.repeat(data, 3, axis=0)
    elif bands >= 3:
        rgb = data[:3]
    else:
        raise RasterError("need 1, 3 or 4 bands", path=p, field="bands", value=bands)
    image = np.ascontiguousarray(np.transpose(rgb[::-1], (1, 2, 0)))  # RGB -> BGR, HWC
    if bands == 4 or bands == 2:
        valid = data[-1] > 0
    elif nodata is not None:
        valid = ~np.all(data == nodata, axis=0)
    else:
        valid = np.ones(image.shape[:2], dtype=bool)
    h, w = image.shape[:2]
    # Exact geodesy on a grid (with a margin around the raster), then a polynomial fit.
    grid_c, grid_r = np.meshgrid(np.linspace(-0.1 * w, 1.1 * w, _GRID), np.linspace(-0.1 * h, 1.1 * h, _GRID))
    cols: F64 = grid_c.ravel()
    rows: F64 = grid_r.ravel()
    xs = affine.c + affine.a * (cols + 0.5) + affine.b * (rows + 0.5)
    ys = affine.f + affine.d * (cols + 0.5) + affine.e * (rows + 0.5)
    if crs.upper() in ("EPSG:4326", "OGC:CRS84"):
        lon, lat = xs, ys
    else:
        lon_l, lat_l = warp_transform(crs, "EPSG:4326", xs.tolist(), ys.tolist())
        lon, lat = np.asarray(lon_l), np.asarray(lat_l)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    x_c = affine.c + affine.a * (cx + 0.5) + affine.b * (cy + 0.5)
    y_c = affine.f + affine.d * (cx + 0.5) + affine.e * (cy + 0.5)
    if crs.upper() in ("EPSG:4326", "OGC:CRS84"):
        lon_c, lat_c = x_c, y_c
    else:
        lo, la = warp_transform(crs, "EPSG:4326", [x_c], [y_c])
        lon_c, lat_c = lo[0], la[0]
    frame = EnuFrame(LatLonAlt(float(lat_c), float(lon_c), float(ground_alt_m)))
    east = np.empty_like(cols)
    north = np.empty_like(cols)
    for i in range(cols.shape[0]):
        v = frame.to_enu(LatLonAlt(float(lat[i]), float(lon[i]), float(ground_alt_m)))
        east[i], north[i] = v[0], v[1]
    to_px, res_px = _Poly.fit(east, north, cols, rows)
    to_en, _ = _Poly.fit(cols, rows, east, north)
    if res_px > _FIT_TOL_PX:
        raise RasterError(
            f"the raster's geometry is not smooth enough for a local map (fit residual {res_px:.4f} px)", path=p,
        )
    return GeoRaster(p, image, valid, frame, crs, to_px, to_en)
