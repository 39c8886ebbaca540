"""The benchmark runner: run a localizer over a flight in its own process
(measuring its CPU time and peak memory), score its output files against the
ground truth, and write report.json, plots and a Markdown summary."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from gps_denied_onboard.components.c12_sim.baseline import run_baseline
from gps_denied_onboard.components.c12_sim.errors import BenchError, LocalizerUnavailableError
from gps_denied_onboard.components.c12_sim.georaster import GeoRaster, load_georaster
from gps_denied_onboard.components.c12_sim.metrics import score
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.dataset import read_estimates, read_flight
from gps_denied_onboard.dataset.csvio import format_row, header_line
from gps_denied_onboard.helpers import atomic_write_text
from gps_denied_onboard.logging import get_logger

LOCALIZERS = ("airborne", "baseline")
AIRBORNE_MODULE = "gps_denied_onboard.runtime_root.airborne_replay"
AIRBORNE_FUNC = "replay_flight"
LOG_NAME = "localizer.log"
ERRORS_CSV = "errors.csv"
_ERRORS_COLUMNS = (("timestamp", "ns"), ("kind", ""), ("error", "m"), ("claimed_3sigma", "m"))

Localizer = Callable[..., object]


@dataclass(frozen=True)
class Resources:
    """What the localizer process used."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def resolve_localizer(name: str) -> Localizer:
    """The callable behind a localizer name; LocalizerUnavailableError says why not."""
    if name == "baseline":
        return _baseline_entry
    if name == "airborne":
        try:
            module = importlib.import_module(AIRBORNE_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name is not None and AIRBORNE_MODULE.startswith(exc.name):
                raise LocalizerUnavailableError(
                    f"the airborne localizer ({AIRBORNE_MODULE}.{AIRBORNE_FUNC}) is not in this build yet; "
                    "use --localizer baseline", field="localizer", value=name,
                ) from exc
            raise
        func = getattr(module, AIRBORNE_FUNC, None)
        if not callable(func):
            raise LocalizerUnavailableError(
                f"{AIRBORNE_MODULE} has no {AIRBORNE_FUNC}() yet; use --localizer baseline",
                field="localizer", value=name,
            )
        return func  # type: ignore[no-any-return]
    raise BenchError(f"unknown localizer (choose from {', '.join(LOCALIZERS)})", field="localizer", value=name)


def localization_config(overrides: Mapping[str, Any] | None, where: str = "localization") -> LocalizationConfig:
    """The airborne localizer's configuration: the defaults with `overrides` (field name
    -> value, e.g. a suite's `localization:` mapping) applied. An unknown field, a value
    of the wrong type or one the configuration refuses is a BenchError naming it."""
    if overrides is None:
        return LocalizationConfig()
    if not isinstance(overrides, Mapping):
        raise BenchError("expected a mapping of localization settings", field=where, value=overrides)
    known = {f.name: f for f in fields(LocalizationConfig)}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise BenchError(f"unknown localization settings {unknown} (known: {sorted(known)})", field=where,
                         value=unknown)
    for key, value in overrides.items():
        default = known[key].default
        # yaml gives bool / int / float: a bool is not a number here, an int is a float
        ok = isinstance(value, bool) if isinstance(default, bool) else (
            not isinstance(value, bool) and isinstance(value, (int, float) if isinstance(default, float) else int))
        if not ok:
            raise BenchError(f"expected {type(default).__name__}", field=f"{where}.{key}", value=value)
    try:
        return LocalizationConfig(**dict(overrides))
    except ValueError as exc:
        raise BenchError(str(exc), field=where, value=dict(overrides)) from exc


def _baseline_entry(flight_dir: Path, out_dir: Path, *, map_path: Path | None = None, cache_dir: Path | None = None,
                    realtime: bool = False) -> None:
    del map_path, cache_dir  # the baseline uses no map
    run_baseline(flight_dir, out_dir, realtime=realtime)


def _child_main(argv: list[str]) -> int:
    """Entry of the localizer process (argv[0]: a JSON object of the run's arguments)."""
    args = json.loads(argv[0])
    func = resolve_localizer(args["localizer"])
    # only overrides are passed: without them the localizer keeps its own default configuration
    extra = {"config": localization_config(args["localization"])} if args.get("localization") else {}
    func(
        Path(args["flight"]), Path(args["out"]),
        map_path=Path(args["map"]) if args["map"] else None,
        cache_dir=Path(args["cache"]) if args["cache"] else None,
        realtime=bool(args["realtime"]),
        **extra,
    )
    return 0


_CHILD_CODE = (
    "import sys\n"
    "from gps_denied_onboard.components.c12_sim.runner import _child_main\n"
    "sys.exit(_child_main(sys.argv[1:]))\n"
)


def run_localizer(localizer: str, flight_dir: Path, out_dir: Path, *, map_path: Path | None = None,
                  cache_dir: Path | None = None, realtime: bool = False, timeout_s: float = 1800.0,
                  localization: Mapping[str, Any] | None = None) -> Resources:
    """Run the localizer in a fresh Python process writing into `out_dir`; its stderr
    goes to `out_dir/localizer.log`. CPU time and peak RSS come from wait4().
    `localization`: overrides of the airborne localizer's configuration (LocalizationConfig
    fields); the baseline has no such configuration and refuses them."""
    resolve_localizer(localizer)  # fail here, clearly, before starting a process
    if localization:
        if localizer != "airborne":
            raise BenchError("localization settings apply to the airborne localizer only", field="localization",
                             value=localizer)
        localization_config(localization)  # refuse a bad setting here, not in the child
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({
        "localizer": localizer, "flight": str(flight_dir), "out": str(out_dir),
        "map": str(map_path) if map_path else None, "cache": str(cache_dir) if cache_dir else None,
        "realtime": realtime, "localization": dict(localization) if localization else None,
    })
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    start = time.monotonic()
    with open(out_dir / LOG_NAME, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD_CODE, payload], stdout=log, stderr=log, env=env)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise BenchError(f"the localizer ran past {timeout_s:.0f} s and was stopped", path=flight_dir)
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        tail = (out_dir / LOG_NAME).read_text(errors="replace").strip().splitlines()[-8:]
        raise BenchError(
            f"the {localizer} localizer failed (exit {proc.returncode}):\n  " + "\n  ".join(tail), path=flight_dir,
        )
    # ru_maxrss is in KiB on Linux.
    return Resources(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0)


def bench_flight(flight_dir: str | Path, out_dir: str | Path, *, localizer: str = "airborne",
                 map_path: str | Path | None = None, cache_dir: str | Path | None = None, realtime: bool = False,
                 plots: bool = True, name: str | None = None, extra: dict[str, Any] | None = None,
                 localization: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run `localizer` over the flight and score it; returns (and writes) the report.
    `localization`: overrides of the airborne localizer's configuration (see
    `localization_config`), recorded in the report."""
    flight_dir, out_dir = Path(flight_dir), Path(out_dir)
    flight = read_flight(flight_dir)
    mp = Path(map_path) if map_path else flight.map_path
    log = get_logger("c12_sim")
    res = run_localizer(localizer, flight_dir, out_dir, map_path=mp, cache_dir=Path(cache_dir) if cache_dir else None,
                        realtime=realtime, localization=localization)
    est = read_estimates(out_dir)
    raster: GeoRaster | None = None
    if mp is not None and mp.is_file():
        raster = load_georaster(mp, ground_alt_m=flight.meta.ground_alt_msl_m)
    else:
        log.warning("no map raster: errors in map pixels are not computed", kind="bench.no_map", flight=str(flight_dir))
    report, scored = score(flight, est, map_gsd_m=raster.mean_gsd_m if raster else None)
    n_frames = report["frames"]
    report = {
        "name": name or flight_dir.name,
        "flight": str(flight_dir),
        "localizer": localizer,
        "map": str(mp) if mp else None,
        "cache": str(cache_dir) if cache_dir else None,
        "realtime": realtime,
        "localization": dict(localization) if localization else {},
        "vehicle": flight.meta.vehicle,
        **report,
        "resources": {
            "wall_s": res.wall_s, "cpu_s": res.cpu_s, "cpu_ms_per_frame": 1000.0 * res.cpu_s / max(n_frames, 1),
            "peak_rss_mb": res.peak_rss_mb,
            "realtime_factor": report["duration_s"] / res.wall_s if res.wall_s > 0 else None,
        },
        **(extra or {}),
    }
    report["out_dir"] = str(out_dir)
    atomic_write_text(out_dir / "report.json", json.dumps(_finite(report), indent=2) + "\n")
    rows: list[list[object]] = [[int(t), "fused", float(e), float(s)] for t, e, s in
                                zip(scored.track_t_ns, scored.track_err_m, scored.track_sigma3_m, strict=True)]
    ok = scored.fix_accepted & np.isfinite(scored.fix_err_m)
    rows += [[int(t), "fix", float(e), float("nan")] for t, e in zip(scored.fix_t_ns[ok], scored.fix_err_m[ok],
                                                                      strict=True)]
    rows.sort(key=lambda r: (r[0], r[1] != "fused"))
    _write_errors(out_dir / ERRORS_CSV, rows)
    if plots:
        from gps_denied_onboard.components.c12_sim.plots import plot_error_cdf, plot_error_time, plot_trajectory

        plot_trajectory(out_dir / "trajectory.png", raster, flight, est)
        plot_error_time(out_dir / "error_vs_time.png", scored, int(flight.frame_times_ns[0]))
        plot_error_cdf(out_dir / "error_cdf.png", scored)
    atomic_write_text(out_dir / "summary.md", summary_markdown(report, plots=plots))
    return report


def _write_errors(path: Path, rows: list[list[object]]) -> None:
    """Per-row errors (`errors.csv`): fused ticks and accepted fixes (not a strictly
    increasing stream: a fix and a tick may share a timestamp)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(header_line(_ERRORS_COLUMNS) + "\n")
        for row in rows:
            f.write(format_row(row) + "\n")


def read_errors(path: Path) -> dict[str, list[float]]:
    """`errors.csv` back as {"fused": [...], "fix": [...]} metres."""
    out: dict[str, list[float]] = {"fused": [], "fix": []}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split(",")
        if len(parts) >= 3 and parts[1] in out:
            out[parts[1]].append(float(parts[2]))
    return out


def _finite(obj: Any) -> Any:
    """JSON has no NaN: non-finite floats become null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fmt(v: Any, unit: str = "", digits: int = 2, pct: bool = False) -> str:
    if v is None:
        return "—"
    if pct:
        return f"{100.0 * v:.1f} %"
    return f"{v:.{digits}f}{unit}"


def summary_markdown(r: dict[str, Any], *, plots: bool) -> str:
    """The human summary of one run, against the DESIGN §6 quality bar."""
    fused, fixes, lat = r.get("fused") or {}, r.get("fixes") or {}, r["latency_ms"]

    def check(value: Any, ok: Callable[[Any], bool]) -> str:
        return "—" if value is None else ("pass" if ok(value) else "FAIL")

    rows = [
        ("fused CEP50", f"{_fmt(fused.get('cep50_m'), ' m')} / {_fmt(fused.get('cep50_px'), ' px')}", "≤ 2 px",
         check(fused.get("cep50_px"), lambda v: v <= 2.0)),
        ("fused CEP95", f"{_fmt(fused.get('cep95_m'), ' m')} / {_fmt(fused.get('cep95_px'), ' px')}", "≤ 6 px",
         check(fused.get("cep95_px"), lambda v: v <= 6.0)),
        ("fused mean / max / RMSE",
         f"{_fmt(fused.get('mean_m'), ' m')} / {_fmt(fused.get('max_m'), ' m')} / {_fmt(fused.get('rmse_m'), ' m')}",
         "", ""),
        ("fix CEP50 / CEP95", f"{_fmt(fixes.get('cep50_m'), ' m')} / {_fmt(fixes.get('cep95_m'), ' m')}", "", ""),
        ("availability after first fix", _fmt(r["availability_after_first_fix"], pct=True), "100 %",
         check(r["availability_after_first_fix"], lambda v: v >= 0.999)),
        ("absolute-fix rate", _fmt(r["absolute_fix_rate"], pct=True), "≥ 90 %",
         check(r["absolute_fix_rate"], lambda v: v >= 0.9)),
        ("false-fix rate (> 5σ)", _fmt(r["false_fix_rate"], pct=True), "", ""),
        ("3σ coverage", _fmt(r["coverage_3sigma"], pct=True), "≈ 98.9 %", ""),
        ("time to first fix", _fmt(r["time_to_first_fix_s"], " s"), "≤ 5 s",
         check(r["time_to_first_fix_s"], lambda v: v <= 5.0)),
        ("output rate", _fmt(r["output_rate_hz"], " Hz", 1), "≥ 10 Hz", check(r["output_rate_hz"], lambda v: v >= 9.9)),
        ("latency p50 / p99", f"{_fmt(lat['p50'], ' ms', 1)} / {_fmt(lat['p99'], ' ms', 1)}", "≤ 50 / 100 ms",
         check(lat["p99"], lambda v: lat["p50"] <= 50 and v <= 100)),
        ("CPU per frame / peak RSS",
         f"{_fmt(r['resources']['cpu_ms_per_frame'], ' ms', 1)} / {_fmt(r['resources']['peak_rss_mb'], ' MB', 0)}",
         "", ""),
    ]
    lines = [
        f"# Benchmark: {r['name']}",
        "",
        f"Localizer `{r['localizer']}`{' (real-time)' if r['realtime'] else ''} over `{r['flight']}` "
        f"({r['vehicle']}, {r['frames']} frames, {r['duration_s']:.1f} s); map `{r['map']}` "
        f"at {_fmt(r['map_gsd_m'], ' m/px')}.",
        "",
        "| metric | value | target | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]
    if plots:
        lines += ["![trajectory](trajectory.png)", "![error vs time](error_vs_time.png)", "![error CDF](error_cdf.png)",
                  ""]
    return "\n".join(lines)
