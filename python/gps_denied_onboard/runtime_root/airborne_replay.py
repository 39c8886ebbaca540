"""`airborne replay`: run the whole localization pipeline over a recorded flight dataset
and write track.csv / fixes.csv / timing.csv (DESIGN §5). The benchmark calls this.

Frames and telemetry are fed in capture-time order exactly as the live runtime
would see them (telemetry up to the frame's capture time); output ticks are
emitted on the flight's clock at `runtime.output_rate_hz` and at every frame.
With `realtime` the replay is paced to the flight clock; otherwise it runs as
fast as the pipeline allows (latency is measured either way, per frame, from the
decoded frame being available to its output).

With `mavlink` (a C2 link URL) the fused position also goes to an autopilot
while the replay runs, exactly as `airborne run` sends it (`airborne_position_out`:
GPS_INPUT, or GLOBAL_POSITION_SENSOR + ODOMETRY, every 1/rate s and right after
each frame, with the same health / fix type, accuracies and capture -> send
latency); this implies real-time pacing. The estimate files are the same as
without it.

Clocks: the pipeline runs on the dataset's timestamps; the link stamps its
messages on the process monotonic clock (GPS week / time of week from the Unix
clock, or from the autopilot's clock offset once TIMESYNC has one). One fixed
offset, taken once before the first frame, maps one to the other:

    t_link = t_dataset - t_first_frame + link_start_ns

where `link_start_ns` is `LINK_LEAD_IN_S` after the link opened (HEARTBEAT and
TIMESYNC are exchanged before the first frame), or the monotonic instant of
`start_at_unix_ns`. Frame k is processed once its link time has come; a
position sent at link time `now` is the pipeline's solution at dataset time
`t_first_frame + (now - link_start_ns)`, stamped valid at `now`, and its capture
time is the last processed frame's link time, so valid / capture times and the
latency are consistent. Telemetry arriving over the link (attitude, altitude)
is not used: the pipeline keeps using the dataset's.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from gps_denied_onboard._types import MapSource
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.components.c1_camera import ReplaySource
from gps_denied_onboard.config.sections.fc_link import FcLinkConfig
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
from gps_denied_onboard.runtime_root.airborne_outputs import FusedOutput
from gps_denied_onboard.runtime_root.airborne_pipeline import LocalizationPipeline, build_localization_pipeline
from gps_denied_onboard.runtime_root.availability import ComponentNotBuiltError, require_component

if TYPE_CHECKING:  # C2 may be gated out of the binary: imported only when a link is asked for
    from gps_denied_onboard.components.c2_fc_link import FcLink
    from gps_denied_onboard.runtime_root.airborne_position_out import FeedStats, PositionFeed

_log = get_logger("replay")

LINK_LEAD_IN_S = 1.0  # link open -> first frame: HEARTBEAT / TIMESYNC go both ways first
# The messages each autopilot fuses as an external GNSS (the config's own list is kept
# when it names the same autopilot).
AUTOPILOT_OUTPUTS: dict[str, tuple[str, ...]] = {
    "ardupilot": ("gps_input",),
    "px4": ("global_position_sensor", "odometry"),
}


class ReplayError(Exception):
    """The replay cannot start (no map, unreadable flight, cache refused, link not
    opened). Names what."""


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did. The `positions_sent` / `link_*` fields are for a replay
    with a MAVLink link (zero / NaN / None without one)."""

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
    positions_sent: int = 0
    link_latency_p50_ms: float = math.nan  # frame capture -> first position message sent after it
    link_latency_p99_ms: float = math.nan
    link_url: str | None = None
    link_errors: int = 0  # solutions the link refused to encode (skipped, counted)


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


def _tick_times(t0: int, after: int, before: int, rate_hz: float) -> range:
    """The output ticks `t0 + k / rate_hz` strictly between `after` and `before`
    (computed, not scanned from `t0`: a frame costs O(its ticks), not O(the flight))."""
    step = int(round(1e9 / rate_hz))
    first = max(0, (after - t0) // step + 1)
    return range(t0 + first * step, before, step)


def _track_row(o: FusedOutput) -> TrackRow:
    return TrackRow(o.timestamp_ns, o.lat_deg, o.lon_deg, o.alt_msl_m, o.vn_mps, o.ve_mps, o.vd_mps,
                    o.cov_nn, o.cov_ne, o.cov_ee, o.source, o.health)


def link_config_for(url: str, autopilot: Literal["ardupilot", "px4"] | None = None,
                    base: FcLinkConfig | None = None) -> FcLinkConfig:
    """`base` (default: the config's `fc_link`) pointed at `url`, for `autopilot`
    (default: the config's). Raises ReplayError for a value the link refuses."""
    base = base or FcLinkConfig()
    chosen = autopilot or base.autopilot
    outputs = base.outputs if chosen == base.autopilot else AUTOPILOT_OUTPUTS[chosen]
    try:
        return dataclasses.replace(base, url=url, autopilot=chosen, outputs=outputs)
    except ValueError as exc:
        raise ReplayError(f"MAVLink link {url}: {exc}") from exc


def _open_link(cfg: FcLinkConfig, clock: Clock) -> FcLink:
    """C2's link, started (transport open, service thread running): telemetry it
    receives is not listened to; heartbeats, TIMESYNC and alerts run as in flight."""
    try:
        c2 = require_component("c2_fc_link", "airborne replay --mavlink")
    except ComponentNotBuiltError as exc:
        raise ReplayError(str(exc)) from exc
    link: FcLink = c2.FcLink(cfg, clock=clock)
    try:
        link.start()
    except (c2.FcLinkError, OSError) as exc:  # no such port, permission, address in use, bad URL
        link.stop()
        raise ReplayError(f"cannot open MAVLink link {cfg.url}: {exc}") from exc
    return link


def _link_start_ns(clock: Clock, link: FcLink | None, start_at_unix_ns: int | None) -> int:
    """`link_start_ns` of the clock mapping (module docstring)."""
    now = clock.monotonic_ns()
    if start_at_unix_ns is None:
        return now + (int(LINK_LEAD_IN_S * 1e9) if link is not None else 0)
    start = now + (start_at_unix_ns - clock.unix_ns())
    if start < now:
        raise ReplayError(f"the start time is {(now - start) / 1e9:.1f} s in the past (the replay was ready at "
                          f"Unix {clock.unix_ns() / 1e9:.3f})")
    return start


def _percentiles(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    arr = np.asarray(values, dtype=np.float64)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def replay_flight(flight_dir: Path, out_dir: Path, *, map_path: Path | None = None, cache_dir: Path | None = None,
                  realtime: bool = False, config: LocalizationConfig | None = None, output_rate_hz: float = 10.0,
                  trusted_keys: Sequence[Path] = (), mavlink: str | None = None,
                  autopilot: Literal["ardupilot", "px4"] | None = None, link_config: FcLinkConfig | None = None,
                  start_at_unix_ns: int | None = None) -> ReplayResult:
    """Run the pipeline over `flight_dir`, writing the three estimate files into `out_dir`.

    With `mavlink` (udpin:HOST:PORT, udpout:HOST:PORT, serial:DEV:BAUD) the fused
    position is also sent to an autopilot (`autopilot`, default the config's) at
    `link_config.output_rate_hz` while the replay runs in real time; the link is
    opened before anything is written (a link that cannot be opened raises
    ReplayError and leaves `out_dir` untouched) and closed however the replay
    ends. `start_at_unix_ns` (with `mavlink`) replays the first frame at that
    wall-clock time instead of `LINK_LEAD_IN_S` after the link opens, so another
    process replaying the same flight can line up with it."""
    if start_at_unix_ns is not None and mavlink is None:
        raise ReplayError("a start time is for a replay into an autopilot (--mavlink)")
    link_cfg = link_config_for(mavlink, autopilot, link_config) if mavlink is not None else None
    try:
        # image headers are not pre-checked: a corrupt frame is a degraded frame, not a failed replay
        flight = read_flight(Path(flight_dir), check_images=False)
    except DatasetError as exc:
        raise ReplayError(f"flight {flight_dir}: {exc}") from exc
    map_source = open_map(flight, map_path, cache_dir, trusted_keys)
    clock = WallClock()
    pipe = build_localization_pipeline(config or LocalizationConfig(), map_source, flight.camera, clock,
                                       ground_alt_msl_m=flight.meta.ground_alt_msl_m)
    if link_cfg is not None and not realtime:
        _log.info("--mavlink paces the replay in real time", kind="replay_realtime_implied")
        realtime = True
    link = _open_link(link_cfg, clock) if link_cfg is not None else None
    try:
        return _run(flight, pipe, Path(out_dir), clock, realtime=realtime, output_rate_hz=output_rate_hz,
                    link=link, link_cfg=link_cfg, start_at_unix_ns=start_at_unix_ns)
    finally:
        if link is not None:
            link.stop()


def _start_feed(link: FcLink, link_cfg: FcLinkConfig, pipe: LocalizationPipeline, lock: threading.Lock,
                t_first: int, start_ns: int, clock: Clock) -> PositionFeed:
    from gps_denied_onboard.config.sections.airborne import AirborneConfig
    from gps_denied_onboard.runtime_root.airborne_position_out import PositionFeed, Timeline
    from gps_denied_onboard.runtime_root.airborne_runtime import RuntimeSettings

    feed = PositionFeed(link, pipe.output, lock, Timeline(t_first, start_ns), clock, rate_hz=link_cfg.output_rate_hz,
                        camera_stall_s=AirborneConfig().camera_stall_s, lock_wait_s=RuntimeSettings().lock_wait_s)
    feed.start()
    return feed


def _finish_feed(feed: PositionFeed, clock: Clock, end_link_ns: int, period_s: float) -> FeedStats:
    """Keep sending through the flight's last output period, and until the last
    frame's solution is out (bounded), then stop the feed."""
    feed.camera_ended()
    clock.sleep((end_link_ns - clock.monotonic_ns()) / 1e9)
    deadline = clock.monotonic_ns() + int(2 * period_s * 1e9)
    while feed.latency_pending and clock.monotonic_ns() < deadline:
        clock.sleep(0.005)
    return feed.stop()


def _run(flight: FlightDataset, pipe: LocalizationPipeline, out_dir: Path, clock: Clock, *, realtime: bool,
         output_rate_hz: float, link: FcLink | None, link_cfg: FcLinkConfig | None,
         start_at_unix_ns: int | None) -> ReplayResult:
    att, alt, prior = flight.attitude, flight.altitude, flight.prior
    ia = il = ip = 0
    frames = flight.frames
    t_first = frames[0].t_ns
    t_end = frames[-1].t_ns + int(1e9 / output_rate_hz)
    latencies: list[float] = []
    ticks = 0
    start_wall = time.monotonic()
    last_tick = -1
    # Paced here (on the clock mapping), not by the source: the frames keep their dataset stamps.
    source = ReplaySource.from_flight(flight, clock)
    times = [f.t_ns for f in frames]
    start_ns = _link_start_ns(clock, link, start_at_unix_ns)
    lock = threading.Lock()  # the pipeline is shared with the link's output thread
    feed: PositionFeed | None = None
    feed_stats: FeedStats | None = None
    try:
        if link is not None and link_cfg is not None:
            feed = _start_feed(link, link_cfg, pipe, lock, t_first, start_ns, clock)
        with EstimateWriter(out_dir) as writer:
            while (frame := source.read()) is not None:
                t = frame.timestamp_ns
                k = frame.sequence
                if realtime:
                    clock.sleep((start_ns + (t - t_first) - clock.monotonic_ns()) / 1e9)
                if feed is not None:
                    feed.frame_in(t)
                with lock:
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
                if feed is not None:
                    feed.frame_done(t)
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
                for tt in _tick_times(t_first, last_tick, t_next, output_rate_hz):
                    with lock:
                        tick_out = pipe.output(tt)
                    writer.track(_track_row(tick_out))
                    last_tick = tt
                    ticks += 1
        if feed is not None and link_cfg is not None:
            feed_stats = _finish_feed(feed, clock, start_ns + (t_end - t_first), 1.0 / link_cfg.output_rate_hz)
    finally:
        if feed is not None and feed_stats is None:  # interrupted or failed: stop sending before the link closes
            feed.stop()
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    c = pipe.counters
    link_p50, link_p99 = _percentiles(feed_stats.latencies_ms if feed_stats is not None else ())
    result = ReplayResult(out_dir, len(frames), c["bad_frames"] + source.stats.out_of_order,
                          c["fixes_accepted"] + c["fixes_refused"], c["fixes_accepted"], ticks, c["relocalizations"],
                          time.monotonic() - start_wall, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)),
                          positions_sent=feed_stats.positions_sent if feed_stats is not None else 0,
                          link_latency_p50_ms=link_p50, link_latency_p99_ms=link_p99,
                          link_url=link_cfg.url if link_cfg is not None else None,
                          link_errors=feed_stats.errors if feed_stats is not None else 0)
    _log.info("replay finished", kind="replay_done", frames=result.frames, fixes=result.fixes_accepted,
              p99_ms=result.latency_p99_ms, positions_sent=result.positions_sent)
    return result


_MAVLINK_HELP = (
    "also send the fused position to an autopilot over MAVLink while replaying: udpin:HOST:PORT, "
    "udpout:HOST:PORT or serial:DEV:BAUD (ArduPilot / PX4 SITL, a flight controller, the autopilot emulator). "
    "Sent as `airborne run` sends it (every 1/rate s and after each frame, same fix type, accuracies and "
    "latency); implies --realtime. Telemetry arriving over the link is ignored for localization: the "
    "pipeline uses the flight's recorded attitude, altitude and prior.")


def replay_main(argv: list[str]) -> int:
    """`airborne replay --flight DIR (--map RASTER | --cache DIR) --out DIR [--realtime]
    [--mavlink URL [--autopilot ardupilot|px4] [--start-at UNIX_S]]`."""
    ap = argparse.ArgumentParser(prog="airborne replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("--flight", type=Path, required=True, help="flight dataset directory (gdn-flight/1)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--map", type=Path, help="georeferenced raster (GeoTIFF, PNG + world file + .prj, ...)")
    src.add_argument("--cache", type=Path, help="provisioned map cache directory")
    ap.add_argument("--trusted-key", type=Path, action="append", default=[], help="operator public key for --cache")
    ap.add_argument("--out", type=Path, required=True, help="output directory for track/fixes/timing.csv")
    ap.add_argument("--realtime", action="store_true", help="pace the replay to the flight clock")
    ap.add_argument("--mavlink", metavar="URL", help=_MAVLINK_HELP)
    ap.add_argument("--autopilot", choices=tuple(AUTOPILOT_OUTPUTS),
                    help=f"with --mavlink: GPS_INPUT (ardupilot) or GLOBAL_POSITION_SENSOR + ODOMETRY (px4) "
                         f"(default: the config's fc_link.autopilot, {FcLinkConfig().autopilot})")
    ap.add_argument("--start-at", type=float, metavar="UNIX_S",
                    help=f"with --mavlink: replay the first frame at this Unix time (seconds) instead of "
                         f"{LINK_LEAD_IN_S:g} s after the link opens, to line up with another process replaying "
                         f"the same flight")
    args = ap.parse_args(argv)
    if args.mavlink is None and (args.autopilot is not None or args.start_at is not None):
        ap.error("--autopilot and --start-at need --mavlink")
    if args.mavlink is not None and not args.realtime:
        print("airborne replay: --mavlink: pacing the replay in real time (as with --realtime)", file=sys.stderr)
    try:
        res = replay_flight(args.flight, args.out, map_path=args.map, cache_dir=args.cache, realtime=args.realtime,
                            trusted_keys=args.trusted_key, mavlink=args.mavlink, autopilot=args.autopilot,
                            start_at_unix_ns=int(args.start_at * 1e9) if args.start_at is not None else None)
    except ReplayError as exc:
        print(f"airborne replay: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"airborne replay: interrupted; {args.out} holds the estimates written so far", file=sys.stderr)
        return 130
    rate = res.fixes_accepted / max(res.frames, 1)
    link = ""
    if res.link_url is not None:
        link = (f", {res.positions_sent} position messages sent to {res.link_url} (capture -> send p50 "
                f"{res.link_latency_p50_ms:.1f} ms p99 {res.link_latency_p99_ms:.1f} ms)")
    print(f"{res.frames} frames, {res.fixes_accepted} fixes accepted ({100 * rate:.1f} %), {res.bad_frames} bad frames, "
          f"{res.ticks} output ticks, latency p50 {res.latency_p50_ms:.1f} ms p99 {res.latency_p99_ms:.1f} ms, "
          f"wall {res.wall_s:.1f} s{link} -> {args.out}")
    return 0 if math.isfinite(res.wall_s) else 1
