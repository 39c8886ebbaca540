"""`demo`: the bench rehearsal (the README's main job).

Builds, or reuses from the user's cache (keyed by every parameter), a synthetic
world (C12), a signed map cache provisioned from its map image (C10, verified by
C4 at load) and a simulated flight over its other-date image (C12); then flies
that flight through the real airborne runtime in real time against the built-in
autopilot emulator over MAVLink on UDP loopback, printing one line per frame,
and ends with a summary: error table, autopilot acceptance, latency, and where
the plots and the FDR flight are.

    demo                      # the embedded default (about a minute the first time)
    demo --pair DIR           # your own map pair (pair.yaml: map_image, flight_image)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gps_denied_onboard import __version__
from gps_denied_onboard.logging import configure_logging
from gps_denied_onboard.runtime_root.availability import require_component

EXIT_OK = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class DemoParams:
    """Everything the cached world, cache and flight depend on."""

    seed: int = 7
    world_px: int = 1536
    gsd_m: float = 0.5
    duration_s: float = 15.0
    fps: float = 5.0
    speed_mps: float = 10.0
    agl_m: float = 100.0
    pair: str = ""  # a user's pair directory instead of a synthetic world

    def key(self) -> str:
        text = json.dumps({**asdict(self), "version": __version__}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/gps_denied_onboard/demo` (default `~/.cache/...`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gps_denied_onboard" / "demo"


@dataclass(frozen=True)
class Prepared:
    pair_dir: Path
    flight_dir: Path
    cache_dir: Path
    public_key: Path
    state_path: Path


def _done(path: Path) -> bool:
    return (path / ".demo-complete").is_file()


def _mark(path: Path) -> None:
    (path / ".demo-complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")


def _step(say: Any, what: str, path: Path, reused: bool, t0: float) -> None:
    say(f"  {what:<8} {'reused' if reused else f'built in {time.monotonic() - t0:.1f} s'}: {path}")


def prepare(params: DemoParams, root: Path, *, rebuild: bool, say: Any) -> Prepared:
    """World, flight and provisioned cache under `root` (reused when complete)."""
    c12 = require_component("c12_sim", "demo")
    c10 = require_component("c10_provisioning", "demo")
    from gps_denied_onboard.components.c12_sim.pairs import load_pair
    from gps_denied_onboard.components.c12_sim.simulate import FlightSpec, simulate_flight
    from gps_denied_onboard.components.c12_sim.world import WorldSpec, generate_world

    del c12
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if params.pair:
        pair_dir = Path(params.pair).resolve()
        say(f"  pair     yours: {pair_dir}")
    else:
        pair_dir = root / "world"
        reused = _done(pair_dir) and not rebuild
        if not reused:
            generate_world(WorldSpec(seed=params.seed, size_px=params.world_px, gsd_m=params.gsd_m), pair_dir)
            _mark(pair_dir)
        _step(say, "world", pair_dir, reused, t0)
    pair = load_pair(pair_dir)
    flight_dir = root / "flight"
    t0 = time.monotonic()
    reused = _done(flight_dir) and not rebuild
    if not reused:
        spec = FlightSpec(seed=params.seed, duration_s=params.duration_s, fps=params.fps, speed_mps=params.speed_mps,
                          agl_m=(params.agl_m, params.agl_m))
        simulate_flight(pair, spec, flight_dir, overwrite=True)
        _mark(flight_dir)
    _step(say, "flight", flight_dir, reused, t0)
    key_path = root / "operator_ed25519.pem"
    if not key_path.is_file():
        c10.generate_operator_key(key_path)
    public_key = c10.public_key_path(key_path)
    cache_dir = root / "cache"
    t0 = time.monotonic()
    reused = _done(cache_dir) and not rebuild
    if not reused:
        _provision(c10, pair.map_image, flight_dir / "mav0" / "cam0" / "sensor.yaml", key_path, cache_dir,
                   pair.ground_alt_msl_m)
        _mark(cache_dir)
    _step(say, "cache", cache_dir, reused, t0)
    return Prepared(pair_dir, flight_dir, cache_dir, Path(public_key), root / "accepted_versions.json")


def _provision(c10: Any, map_image: Path, camera_yaml: Path, key_path: Path, out: Path, ground_alt: float) -> None:
    from gps_denied_onboard.components.c11_tile_manager.download import RasterTileSource
    from gps_denied_onboard.components.c12_sim.georaster import load_georaster
    from gps_denied_onboard.runtime_root.availability import component_available

    raster = load_georaster(map_image, ground_alt_m=ground_alt)
    e0, n0, e1, n1 = raster.inner_bounds_en()
    # Stay inside the image by a margin so the web-mercator tiles cover the whole bbox.
    me, mn = 0.04 * (e1 - e0), 0.04 * (n1 - n0)
    lats, lons = raster.en_to_latlon([e0 + me, e1 - me], [n0 + mn, n1 - mn])
    bbox = (float(min(lats)), float(min(lons)), float(max(lats)), float(max(lons)))
    extractor = None
    if component_available("c6_place_recognition"):
        c6 = require_component("c6_place_recognition", "demo")
        factory = getattr(c6, "default_descriptor_extractor", None)
        extractor = factory() if factory is not None else None
    request = c10.BuildRequest(bbox=bbox, source=RasterTileSource(map_image), camera_path=camera_yaml,
                               key_path=key_path, out_dir=out.absolute(), min_coverage=0.95)
    c10.CacheProvisioner(extractor=extractor).build_cache_artifacts(request)


def open_or_reprovision(prep: Prepared, say: Any) -> Any:
    """Open (verify) the cache; a reused cache this build refuses (made by an older
    provisioner, or tampered with) is provisioned again once, never used unverified."""
    c4 = require_component("c4_map_cache", "demo")
    c10 = require_component("c10_provisioning", "demo")
    try:
        return c4.open_cache(prep.cache_dir, trusted_keys=[prep.public_key], state_path=prep.state_path)
    except c4.MapCacheError as exc:
        say(f"  cache    refused ({exc}); provisioning it again")
    from gps_denied_onboard.components.c12_sim.pairs import load_pair

    (prep.cache_dir / ".demo-complete").unlink(missing_ok=True)
    prep.state_path.unlink(missing_ok=True)
    pair = load_pair(prep.pair_dir)
    _provision(c10, pair.map_image, prep.flight_dir / "mav0" / "cam0" / "sensor.yaml",
               prep.public_key.parent / "operator_ed25519.pem", prep.cache_dir, pair.ground_alt_msl_m)
    _mark(prep.cache_dir)
    return c4.open_cache(prep.cache_dir, trusted_keys=[prep.public_key], state_path=prep.state_path)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _plots(result: Any, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result.rows if r.error_m is not None]
    if not rows:
        return []
    t = [(r.flight_ns - result.rows[0].flight_ns) / 1e9 for r in rows]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(t, [r.error_m for r in rows], label="horizontal error vs truth")
    ax.plot(t, [r.sigma_m for r in rows], "--", label="claimed 1-sigma (drms)")
    ax.set_xlabel("flight time [s]")
    ax.set_ylabel("metres")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "error.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths = [path]
    track = [r for r in rows if r.est_ne_m is not None and r.truth_ne_m is not None]
    if track:
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.plot([r.truth_ne_m[1] for r in track], [r.truth_ne_m[0] for r in track], "k-", lw=2, label="truth")
        ax.plot([r.est_ne_m[1] for r in track], [r.est_ne_m[0] for r in track], ".", ms=4,
                label="fused estimate at each frame")
        ax.set_xlabel("east [m]")
        ax.set_ylabel("north [m]")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        paths.append(out / "track.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _summary(result: Any, prep: Prepared, out: Path, say: Any, msg_type: str = "GPS_INPUT") -> bool:
    rep = result.report
    rows = result.rows
    first_fix = next((i for i, r in enumerate(rows) if r.accepted), None)
    after = rows[first_fix:] if first_fix is not None else []
    errors = [r.error_m for r in after if r.error_m is not None]
    fixes = sum(r.accepted for r in after)
    ttff = (rows[first_fix].flight_ns - rows[0].flight_ns) / 1e9 if first_fix is not None else math.nan
    lat_all = list(result.latencies_ms.values())
    steady = result.tracking_latencies_ms()
    say("")
    say("summary")
    say(f"  flight       {result.flight_s:.1f} s simulated, {result.wall_s:.1f} s wall (real time), "
        f"{len(rows)} frames processed, {result.counters.get('frames_dropped', 0)} dropped")
    say(f"  first fix    {ttff:.1f} s into the flight; absolute fixes on {fixes}/{len(after)} frames after it")
    say("  error vs truth (fused output at each frame, after the first fix)")
    say("      p50       p95       max     frames")
    say(f"    {_pct(errors, 50):6.2f} m  {_pct(errors, 95):6.2f} m  {max(errors) if errors else math.nan:6.2f} m"
        f"   {len(errors)}")
    for line in rep.lines(msg_type):
        say("  " + line)
    say(f"  capture->send latency: p50 {_pct(steady, 50):.0f} ms, p99 {_pct(steady, 99):.0f} ms (after first fix); "
        f"all frames p99 {_pct(lat_all, 99):.0f} ms")
    say(f"  FDR flight   {result.flight_dir} (clean_shutdown={result.footer.clean_shutdown}, "
        f"{result.footer.records_written} records); read it with `operator fdr`")
    for p in _plots(result, out):
        say(f"  plot         {p}")
    say(f"  inputs       world/pair {prep.pair_dir}, flight {prep.flight_dir}, cache {prep.cache_dir}")
    return rep.acceptance_ratio(msg_type) >= 0.99 and first_fix is not None


def demo_main(argv: list[str]) -> int:
    """Run the bench rehearsal; returns 0 when the emulated autopilot accepted the output."""
    ap = argparse.ArgumentParser(prog="demo", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    d = DemoParams()
    ap.add_argument("--pair", type=Path, help="your own map pair directory (pair.yaml) instead of a synthetic world")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--duration", type=float, default=d.duration_s, help="flight length in seconds")
    ap.add_argument("--fps", type=float, default=d.fps, help="camera frames per second")
    ap.add_argument("--speed", type=float, default=d.speed_mps, help="ground speed m/s")
    ap.add_argument("--agl", type=float, default=d.agl_m, help="height above ground, m")
    ap.add_argument("--work-dir", type=Path, help=f"where inputs are cached (default {user_cache_dir()}/<key>)")
    ap.add_argument("--rebuild", action="store_true", help="regenerate world, flight and cache")
    ap.add_argument("--autopilot", choices=("ardupilot", "px4"), default="ardupilot",
                    help="GPS_INPUT (ArduPilot) or GLOBAL_POSITION_SENSOR + ODOMETRY (PX4)")
    ap.add_argument("--rate", type=float, default=10.0, help="position messages per second (5-50)")
    ap.add_argument("--quiet", action="store_true", help="no per-frame lines")
    args = ap.parse_args(argv)
    configure_logging("ERROR")
    params = DemoParams(seed=args.seed, duration_s=args.duration, fps=args.fps, speed_mps=args.speed, agl_m=args.agl,
                        pair=str(args.pair.resolve()) if args.pair else "")
    root = args.work_dir or user_cache_dir() / params.key()

    def say(text: str) -> None:
        print(text, flush=True)

    say(f"gps_denied_onboard demo {__version__}: inputs in {root}")
    try:
        prep = prepare(params, root, rebuild=args.rebuild, say=say)
        result, run_dir, primary = _fly(args, prep, root, say)
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: one readable line, details in the log
        say(f"demo: failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    ok = _summary(result, prep, run_dir, say, primary)
    return EXIT_OK if ok else EXIT_FAILED


def _fly(args: argparse.Namespace, prep: Prepared, root: Path, say: Any) -> tuple[Any, Path, str]:
    import dataclasses

    from gps_denied_onboard.config import GdnConfig
    from gps_denied_onboard.runtime_root.demo_rehearsal import FrameRow, run_rehearsal

    cache = open_or_reprovision(prep, say)
    outputs = ("gps_input",) if args.autopilot == "ardupilot" else ("global_position_sensor", "odometry")
    base = GdnConfig()
    cfg = dataclasses.replace(base, fc_link=dataclasses.replace(base.fc_link, autopilot=args.autopilot,
                                                                outputs=outputs, output_rate_hz=args.rate))
    run_dir = root / "runs" / time.strftime("%Y%m%dT%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    say(f"flying {prep.flight_dir.name} in real time against the emulated {args.autopilot} "
        f"(verified cache v{cache.manifest.version}, {cache.manifest.tile_count} tiles)")
    t_start = time.monotonic()

    def on_row(r: FrameRow) -> None:
        if args.quiet:
            return
        err = f"{r.error_m:7.2f} m" if r.error_m is not None else "      - "
        sig = f"{r.sigma_m:6.2f} m" if r.sigma_m is not None else "     - "
        state = "fix" if r.accepted else (r.reason or "-")[:22]
        say(f"  [{time.monotonic() - t_start:5.1f} s] frame {r.index:4d}  {r.source:<7} {r.health:<8} "
            f"err {err}  sigma {sig}  {r.processing_ms:5.0f} ms  {state}")

    primary = "GPS_INPUT" if args.autopilot == "ardupilot" else "GLOBAL_POSITION_SENSOR"
    try:
        result = run_rehearsal(prep.flight_dir, cache.map_source(), fdr_root=run_dir / "fdr", config=cfg,
                               on_row=on_row)
    finally:
        cache.close()
    if "odometry" in outputs:
        say("  ODOMETRY, judged the same way:")
        for line in result.report.lines("ODOMETRY")[:2]:
            say("  " + line)
    return result, run_dir, primary


if __name__ == "__main__":
    sys.exit(demo_main(sys.argv[1:]))
