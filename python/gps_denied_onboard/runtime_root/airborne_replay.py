"""`airborne replay`: run the whole localization pipeline over a recorded flight dataset
and write track.csv / fixes.csv / timing.csv (DESIGN §5). The benchmark calls this.

Frames and telemetry are fed in capture-time order exactly as the live runtime
would see them (telemetry up to the frame's capture time); output ticks are
emitted on the flight's clock at `runtime.output_rate_hz` and at every frame.
With `realtime` the replay is paced to the flight clock; otherwise it runs as
fast as the pipeline allows (latency is measured either way, per frame, from the
decoded frame being available to its output).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gps_denied_onboard._types import MapSource
from gps_denied_onboard.clock import WallClock
from gps_denied_onboard.components.c1_camera import ReplaySource
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.dataset import (
    DatasetError,
    EstimateWriter,
    FixRow,
    FlightDataset,
    TrackRow,
    read_flight,
)
from gps_denied_onboard.logging import get_logger
from gps_denied_onboard.runtime_root.airborne_pipeline import FusedOutput, build_localization_pipeline

_log = get_logger("replay")


class ReplayError(Exception):
    """The replay cannot start (no map, unreadable flight, cache refused). Names what."""


@dataclass(frozen=True)
class ReplayResult:
    out_dir: Path
    frames: int
    bad_frames: int
    fixes_attempted: int
    fixes_accepted: int
    ticks: int
    relocalizations: int
    wall_s: float
    latency_p50_ms: float
    latency_p99_ms: float


def open_map(flight: FlightDataset | None, map_path: Path | None, cache_dir: Path | None,
             trusted_keys: Sequence[Path] = (), cache_state: Path | None = None) -> MapSource:
    """The map to localise against: a raster (`map_path`), a provisioned cache
    (`cache_dir`, verified with `trusted_keys`), or the flight's own map hint."""
    if map_path is not None and cache_dir is not None:
        raise ReplayError("give either a map raster or a cache directory, not both")
    if cache_dir is not None:
        try:
            from gps_denied_onboard.components.c4_map_cache import open_cache
        except ImportError as exc:
            raise ReplayError(f"this build has no map-cache component (c4_map_cache): {exc}") from exc
        keys = list(trusted_keys) or [Path(p) for p in os.environ.get("GDN_TRUSTED_KEYS", "").split(os.pathsep) if p]
        if not keys:  # the vehicle's configured operator keys (airborne.trusted_keys), where installed
            from gps_denied_onboard.config.schema import GdnConfig

            keys = [Path(k) for k in GdnConfig().airborne.trusted_keys if Path(k).is_file()]
        if not keys:
            raise ReplayError("a cache needs trusted operator public keys: pass --trusted-key PEM (or set GDN_TRUSTED_KEYS)")
        state = cache_state or Path(cache_dir) / ".." / ".gdn_accepted_versions.json"
        cache = open_cache(cache_dir, trusted_keys=keys, state_path=state)
        from gps_denied_onboard.runtime_root.airborne import described_cache_map  # C6 reuses its descriptors

        return described_cache_map(cache)
    path = map_path if map_path is not None else (flight.map_path if flight is not None else None)
    if path is None:
        raise ReplayError("no map: pass --map RASTER or --cache DIR (the flight names no map)")
    from gps_denied_onboard.components.c7_geo_registration import GeoRasterMap, MapLoadError

    try:
        return GeoRasterMap(path)
    except MapLoadError as exc:
        raise ReplayError(str(exc)) from exc


def _tick_times(t0: int, t1: int, rate_hz: float) -> list[int]:
    step = int(round(1e9 / rate_hz))
    return list(range(t0, t1, step))


def _track_row(o: FusedOutput) -> TrackRow:
    return TrackRow(o.timestamp_ns, o.lat_deg, o.lon_deg, o.alt_msl_m, o.vn_mps, o.ve_mps, o.vd_mps,
                    o.cov_nn, o.cov_ne, o.cov_ee, o.source, o.health)


def replay_flight(flight_dir: Path, out_dir: Path, *, map_path: Path | None = None, cache_dir: Path | None = None,
                  realtime: bool = False, config: LocalizationConfig | None = None, output_rate_hz: float = 10.0,
                  trusted_keys: Sequence[Path] = ()) -> ReplayResult:
    """Run the pipeline over `flight_dir`, writing the three estimate files into `out_dir`."""
    try:
        # image headers are not pre-checked: a corrupt frame is a degraded frame, not a failed replay
        flight = read_flight(Path(flight_dir), check_images=False)
    except DatasetError as exc:
        raise ReplayError(f"flight {flight_dir}: {exc}") from exc
    map_source = open_map(flight, map_path, cache_dir, trusted_keys)
    clock = WallClock()
    pipe = build_localization_pipeline(config or LocalizationConfig(), map_source, flight.camera, clock,
                                       ground_alt_msl_m=flight.meta.ground_alt_msl_m)
    att, alt, prior = flight.attitude, flight.altitude, flight.prior
    ia = il = ip = 0
    frames = flight.frames
    t_first = frames[0].t_ns
    t_end = frames[-1].t_ns + int(1e9 / output_rate_hz)
    latencies: list[float] = []
    ticks = 0
    start_wall = time.monotonic()
    last_tick = -1
    source = ReplaySource.from_flight(flight, clock, realtime=realtime)
    times = [f.t_ns for f in frames]
    with EstimateWriter(out_dir) as writer:
        while (frame := source.read()) is not None:
            t = frame.timestamp_ns
            k = frame.sequence
            while ia < len(att) and att.t_ns[ia] <= t:
                r, p, y = att.values[ia][:3]
                pipe.on_attitude(int(att.t_ns[ia]), float(r), float(p), float(y))
                ia += 1
            while il < len(alt) and alt.t_ns[il] <= t:
                pipe.on_altitude(int(alt.t_ns[il]), float(alt.values[il][0]), float(alt.values[il][1]))
                il += 1
            while prior is not None and ip < len(prior) and prior.t_ns[ip] <= t:
                la, lo, s = prior.values[ip][:3]
                pipe.on_prior(int(prior.t_ns[ip]), float(la), float(lo), float(s))
                ip += 1
            w0 = time.perf_counter()
            rep = pipe.on_frame(t, frame.image)
            out = pipe.output(t)
            latency_ms = (time.perf_counter() - w0) * 1e3
            latencies.append(latency_ms)
            writer.timing(t, latency_ms)
            if rep.attempted:
                writer.fix(FixRow(t, rep.lat_deg, rep.lon_deg, rep.cov_nn, rep.cov_ne, rep.cov_ee, rep.accepted,
                                  rep.reason))
            if t > last_tick:
                writer.track(_track_row(out))
                last_tick = t
                ticks += 1
            t_next = times[k + 1] if k + 1 < len(times) else t_end
            for tt in _tick_times(t_first, t_next, output_rate_hz):
                if last_tick < tt < t_next:
                    writer.track(_track_row(pipe.output(tt)))
                    last_tick = tt
                    ticks += 1
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    c = pipe.counters
    result = ReplayResult(Path(out_dir), len(frames), c["bad_frames"] + source.stats.out_of_order, c["fixes_accepted"] + c["fixes_refused"],
                          c["fixes_accepted"], ticks, c["relocalizations"], time.monotonic() - start_wall,
                          float(np.percentile(lat, 50)), float(np.percentile(lat, 99)))
    _log.info("replay finished", kind="replay_done", frames=result.frames, fixes=result.fixes_accepted,
              p99_ms=result.latency_p99_ms)
    return result


def replay_main(argv: list[str]) -> int:
    """`airborne replay --flight DIR (--map RASTER | --cache DIR) --out DIR [--realtime]`."""
    ap = argparse.ArgumentParser(prog="airborne replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("--flight", type=Path, required=True, help="flight dataset directory (gdn-flight/1)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--map", type=Path, help="georeferenced raster (GeoTIFF, PNG + world file + .prj, ...)")
    src.add_argument("--cache", type=Path, help="provisioned map cache directory")
    ap.add_argument("--trusted-key", type=Path, action="append", default=[], help="operator public key for --cache")
    ap.add_argument("--out", type=Path, required=True, help="output directory for track/fixes/timing.csv")
    ap.add_argument("--realtime", action="store_true", help="pace the replay to the flight clock")
    args = ap.parse_args(argv)
    try:
        res = replay_flight(args.flight, args.out, map_path=args.map, cache_dir=args.cache, realtime=args.realtime,
                            trusted_keys=args.trusted_key)
    except ReplayError as exc:
        print(f"airborne replay: {exc}", file=sys.stderr)
        return 1
    rate = res.fixes_accepted / max(res.frames, 1)
    print(f"{res.frames} frames, {res.fixes_accepted} fixes accepted ({100 * rate:.1f} %), {res.bad_frames} bad frames, "
          f"{res.ticks} output ticks, latency p50 {res.latency_p50_ms:.1f} ms p99 {res.latency_p99_ms:.1f} ms, "
          f"wall {res.wall_s:.1f} s -> {args.out}")
    return 0 if math.isfinite(res.wall_s) else 1
