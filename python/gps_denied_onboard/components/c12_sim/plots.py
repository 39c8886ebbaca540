"""Benchmark plots (matplotlib, Agg canvas: no display, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gps_denied_onboard.components.c12_sim.georaster import GeoRaster
from gps_denied_onboard.components.c12_sim.metrics import Scored
from gps_denied_onboard.dataset import Estimates, FlightDataset


def _figure(w: float, h: float):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_trajectory(path: Path, raster: GeoRaster | None, flight: FlightDataset, est: Estimates) -> None:
    """Truth, fused track and accepted fixes drawn over the map (or in metres without one)."""
    gt = flight.groundtruth
    assert gt is not None
    fig = _figure(7, 7)
    ax = fig.add_subplot(1, 1, 1)
    glat, glon = gt.column("lat")[::5], gt.column("lon")[::5]
    pos = np.isfinite(est.track.lat)
    acc = est.fixes.accepted
    if raster is not None:
        scale = min(1.0, 1024.0 / max(raster.width, raster.height))
        img = raster.image if scale == 1.0 else cv2.resize(raster.image, None, fx=scale, fy=scale,
                                                            interpolation=cv2.INTER_AREA)
        ax.imshow(img[..., ::-1], extent=(-0.5, raster.width - 0.5, raster.height - 0.5, -0.5))

        def to_xy(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            e, n = raster.latlon_to_en(lat, lon)
            return raster.en_to_pixel(e, n)
        ax.set_xlabel("map column [px]")
        ax.set_ylabel("map row [px]")
    else:
        lat0, lon0 = float(glat[0]), float(glon[0])

        def to_xy(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return ((lon - lon0) * 111320.0 * np.cos(np.radians(lat0)), (lat - lat0) * 110540.0)
        ax.set_xlabel("east [m]")
        ax.set_ylabel("north [m]")
        ax.set_aspect("equal")
    ax.plot(*to_xy(glat, glon), "-", color="white" if raster is not None else "black", lw=2.5, label="truth")
    if pos.any():
        ax.plot(*to_xy(est.track.lat[pos][::2], est.track.lon[pos][::2]), "-", color="tab:orange", lw=1.2,
                label="fused")
    if acc.any():
        ax.plot(*to_xy(est.fixes.lat[acc], est.fixes.lon[acc]), "o", color="tab:cyan", ms=3, label="fixes")
    ax.legend(loc="upper right")
    ax.set_title("trajectory vs truth")
    fig.tight_layout()
    fig.savefig(path)


def plot_error_time(path: Path, scored: Scored, t0_ns: int) -> None:
    """Fused error against time with the claimed 3-sigma band, fix errors as dots."""
    fig = _figure(8, 4)
    ax = fig.add_subplot(1, 1, 1)
    t = (scored.track_t_ns - t0_ns) / 1e9
    ax.fill_between(t, 0, scored.track_sigma3_m, color="tab:blue", alpha=0.2, label="claimed 3σ")
    ax.plot(t, scored.track_err_m, color="tab:blue", lw=1.2, label="fused error")
    ok = scored.fix_accepted & np.isfinite(scored.fix_err_m)
    if ok.any():
        ax.plot((scored.fix_t_ns[ok] - t0_ns) / 1e9, scored.fix_err_m[ok], ".", color="tab:red", label="fix error")
    ax.set_xlabel("time since first frame [s]")
    ax.set_ylabel("horizontal error [m]")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)


def plot_error_cdf(path: Path, scored: Scored) -> None:
    """Empirical CDF of fused and fix errors."""
    fig = _figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    for errs, label in ((scored.track_err_m, "fused"), (scored.fix_err_m[scored.fix_accepted], "fixes")):
        e = np.sort(errs[np.isfinite(errs)])
        if e.size:
            ax.step(e, np.arange(1, e.size + 1) / e.size, where="post", label=f"{label} (n={e.size})")
    ax.set_xlabel("horizontal error [m]")
    ax.set_ylabel("fraction ≤ error")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
