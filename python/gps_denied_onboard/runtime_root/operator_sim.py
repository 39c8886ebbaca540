"""`operator simulate` and `operator bench`: simulated flights and the localization benchmark."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from gps_denied_onboard.dataset import DatasetError
from gps_denied_onboard.runtime_root.availability import ComponentNotBuiltError, require_component

EXIT_FAIL = 1
EXIT_NOT_AVAILABLE = 3


def _c12(needed_for: str) -> Any:
    return require_component("c12_sim", needed_for)


def default_data_dir() -> Path | None:
    """The shared data folder: $GDN_SHARED_DIR/data, else ../shared/data from here."""
    env = os.environ.get("GDN_SHARED_DIR")
    candidates = [Path(env) / "data"] if env else []
    candidates.append(Path.cwd().parent / "shared" / "data")
    return next((c for c in candidates if c.is_dir()), None)


def _simulate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="operator simulate",
        description="Render a simulated flight (gdn-flight/1 dataset) over a co-registered map pair, a "
                    "synthetic world, or convert a folder of geotagged photos into a flight.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pair", type=Path, help="pair directory with pair.yaml (map_image, flight_image)")
    src.add_argument("--flight-image", type=Path, help="flight-date raster (with --map): any georeferenced raster")
    src.add_argument("--synthetic", type=int, metavar="SEED", help="generate a synthetic world from SEED")
    src.add_argument("--photos", type=Path, help="folder of geotagged drone photos (EXIF GPS + DJI XMP)")
    p.add_argument("--map", type=Path, help="map raster (with --flight-image or --photos)")
    p.add_argument("--out", type=Path, required=True, help="output flight directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing flight in --out")
    p.add_argument("--world-dir", type=Path, help="where a synthetic world is written (default: OUT.world)")
    p.add_argument("--world-size", type=int, default=2048, help="synthetic world size in pixels")
    p.add_argument("--world-gsd", type=float, default=0.5, help="synthetic world ground sample distance (m/px)")
    p.add_argument("--ground-alt", type=float, default=None, help="terrain altitude MSL (m) when the pair gives none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vehicle", choices=("multirotor", "fixed_wing"), default="multirotor")
    p.add_argument("--pattern", choices=("survey", "free", "transit", "loiter"), default=None,
                   help="default: survey (multirotor) / transit (fixed_wing)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds")
    p.add_argument("--fps", type=float, default=2.0)
    p.add_argument("--speed", type=float, default=None, help="m/s (default 10 multirotor, 30 fixed-wing)")
    p.add_argument("--agl", type=float, nargs="+", default=None, metavar="M",
                   help="altitude above ground, or a LOW HIGH range drawn from (default 100 / 1500)")
    p.add_argument("--wind", type=float, default=3.0, help="wind speed m/s (random direction)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--hfov", type=float, default=None, help="horizontal field of view, deg (default 70 / 50)")
    p.add_argument("--prior-sigma", type=float, default=30.0, help="prior 1-sigma per axis, m (negative: no prior)")
    p.add_argument("--prior-interval", type=float, default=0.0, help="s between priors (0: one at the start)")
    p.add_argument("--format", choices=("jpg", "png"), default="jpg")
    p.add_argument("--no-effects", action="store_true", help="no sensor effects (noise, blur, vignetting, ...)")
    p.add_argument("--no-telemetry-errors", action="store_true", help="perfect attitude and altitude")
    p.add_argument("--rangefinder", action="store_true", help="alt_agl from a rangefinder instead of the baro")
    return p


def simulate_main(argv: list[str]) -> int:
    """`operator simulate`: write one flight dataset; prints where and what."""
    args = _simulate_parser().parse_args(argv)
    try:
        c12 = _c12("operator simulate")
    except ComponentNotBuiltError as exc:
        print(f"operator simulate: {exc}", file=sys.stderr)
        return EXIT_NOT_AVAILABLE
    start = time.monotonic()
    try:
        if args.photos is not None:
            out = c12.flight_from_photos(args.photos, args.out, map_path=args.map, overwrite=args.overwrite,
                                         seed=args.seed, max_width=args.width,
                                         prior_sigma_m=None if args.prior_sigma < 0 else args.prior_sigma)
        else:
            pair = _pair_from_args(c12, args)
            out = c12.simulate_flight(pair, _flight_spec(c12, args), args.out, overwrite=args.overwrite)
    except (c12.SimError, DatasetError) as exc:
        print(f"operator simulate: {exc}", file=sys.stderr)
        return EXIT_FAIL
    from gps_denied_onboard.dataset import read_flight

    flight = read_flight(out)
    print(f"wrote {out}: {len(flight.frames)} frames, {flight.meta.notes} ({time.monotonic() - start:.1f} s)")
    return 0


def _pair_from_args(c12: Any, args: argparse.Namespace) -> Any:
    ground = 0.0 if args.ground_alt is None else args.ground_alt
    if args.pair is not None:
        pair = c12.load_pair(args.pair, default_ground_alt_msl_m=ground)
    elif args.flight_image is not None:
        if args.map is None:
            raise c12.SimError("--flight-image needs --map (the other date)", field="map")
        pair = c12.Pair(args.flight_image.parent, args.flight_image.stem, args.map, args.flight_image, ground, None,
                        {})
    else:
        world_dir = args.world_dir or args.out.with_name(args.out.name + ".world")
        spec = c12.WorldSpec(seed=args.synthetic, size_px=args.world_size, gsd_m=args.world_gsd,
                             ground_alt_msl_m=120.0 if args.ground_alt is None else args.ground_alt)
        c12.generate_world(spec, world_dir)
        pair = c12.load_pair(world_dir)
    if args.ground_alt is not None and pair.ground_alt_msl_m != args.ground_alt:
        pair = c12.Pair(pair.root, pair.pair_id, pair.map_image, pair.flight_image, args.ground_alt,
                        pair.alignment_p90_px, pair.raw)
    return pair


def _flight_spec(c12: Any, args: argparse.Namespace) -> Any:
    fixed = args.vehicle == "fixed_wing"
    agl = args.agl or [1500.0 if fixed else 100.0]
    cam = c12.CameraSpec(width=args.width, height=args.height, hfov_deg=args.hfov or (50.0 if fixed else 70.0))
    return c12.FlightSpec(
        seed=args.seed, vehicle=args.vehicle, pattern=args.pattern or ("transit" if fixed else "survey"),
        duration_s=args.duration, fps=args.fps, speed_mps=args.speed or (30.0 if fixed else 10.0),
        agl_m=(float(agl[0]), float(agl[-1])), wind_mps=args.wind, camera=cam,
        effects=c12.SensorEffects.none() if args.no_effects else c12.SensorEffects(),
        telemetry=c12.TelemetryErrors(rangefinder=args.rangefinder) if not args.no_telemetry_errors
        else c12.TelemetryErrors.none(),
        prior_sigma_m=None if args.prior_sigma < 0 else args.prior_sigma, prior_interval_s=args.prior_interval,
        image_format=args.format,
    )


def _bench_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="operator bench",
        description="Run a localizer over flight datasets and score it against the ground truth "
                    "(report.json, plots, summary.md); --suite runs a whole suite and prints a table.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--flight", type=Path, help="a gdn-flight/1 dataset")
    src.add_argument("--photos", type=Path, help="a folder of geotagged photos (converted to a flight first)")
    src.add_argument("--suite", type=Path, help="a suite file (bench/suites/*.yaml)")
    p.add_argument("--out", type=Path, help="output directory (single flight) or work directory (suite)")
    p.add_argument("--map", type=Path, help="map raster (default: the flight's map hint)")
    p.add_argument("--cache", type=Path, help="a provisioned map cache instead of --map")
    p.add_argument("--localizer", choices=("airborne", "baseline"), default="airborne",
                   help="airborne: the real pipeline (runtime_root.airborne_replay); baseline: dead reckoning")
    p.add_argument("--realtime", action="store_true", help="feed frames at their capture times")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--data", type=Path, default=None, help="shared data folder for suites (default: "
                   "$GDN_SHARED_DIR/data or ../shared/data)")
    p.add_argument("--only", nargs="+", default=None, metavar="RUN", help="run only these suite runs")
    return p


def bench_main(argv: list[str]) -> int:
    """`operator bench`: score one flight or a suite; exit 0 when every run completed."""
    args = _bench_parser().parse_args(argv)
    try:
        c12 = _c12("operator bench")
    except ComponentNotBuiltError as exc:
        print(f"operator bench: {exc}", file=sys.stderr)
        return EXIT_NOT_AVAILABLE
    try:
        c12.resolve_localizer(args.localizer)
    except c12.LocalizerUnavailableError as exc:
        print(f"operator bench: {exc}", file=sys.stderr)
        return EXIT_NOT_AVAILABLE
    if args.suite is not None:
        return _bench_suite(c12, args)
    if args.out is None:
        print("operator bench: --out is required", file=sys.stderr)
        return 2
    try:
        flight = args.flight
        if args.photos is not None:
            flight = c12.flight_from_photos(args.photos, args.out / "flight", map_path=args.map, overwrite=True)
        report = c12.bench_flight(flight, args.out, localizer=args.localizer, map_path=args.map,
                                  cache_dir=args.cache, realtime=args.realtime, plots=not args.no_plots)
    except (c12.SimError, DatasetError) as exc:
        print(f"operator bench: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print((args.out / "summary.md").read_text(encoding="utf-8"))
    print(f"report: {args.out / 'report.json'}")
    del report
    return 0


def _bench_suite(c12: Any, args: argparse.Namespace) -> int:
    try:
        suite = c12.load_suite(args.suite)
    except c12.SimError as exc:
        print(f"operator bench: {exc}", file=sys.stderr)
        return EXIT_FAIL
    data = args.data or default_data_dir()
    work = args.out or Path("out") / "bench" / suite.name
    print(f"suite {suite.name}: {len(suite.runs)} runs, localizer {args.localizer}, data {data or '(absent)'}, "
          f"work {work}", flush=True)
    start = time.monotonic()

    def progress(o: Any) -> None:
        print(f"  {o.name}: {o.status}{' - ' + o.reason if o.reason else ''}", flush=True)

    outcomes = c12.run_suite(suite, data_dir=data, work_dir=work, localizer=args.localizer, realtime=args.realtime,
                             plots=not args.no_plots, only=args.only, progress=progress)
    print()
    print(c12.format_table(outcomes))
    print(f"\n{time.monotonic() - start:.0f} s; reports under {work}/results, table in {work}/suite_summary.md")
    return EXIT_FAIL if any(o.status == "failed" for o in outcomes) else 0
