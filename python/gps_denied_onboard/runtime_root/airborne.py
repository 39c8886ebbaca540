"""`airborne run`: the flight process (composition root, ADR-009).

Builds from config: C13 FDR writer (one FDR client per producer + the log
bridge), C4 verified map cache (or a raster on the bench), C3/C5/C6/C7/C9 through
the localization pipeline, C2 MAVLink link, C1 camera; runs them as supervised
threads (`AirborneRuntime`) until SIGTERM/SIGINT, then closes the flight cleanly
(FDR footer clean_shutdown=true).

    airborne run --config /etc/gdn/airborne.yaml
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from gps_denied_onboard._types import CameraModel, MapSource
from gps_denied_onboard.clock import Clock, WallClock
from gps_denied_onboard.config import ConfigError, GdnConfig, config_snapshot, load_config
from gps_denied_onboard.fdr_client import FdrClient, FdrClientRegistry, install_log_bridge, make_fdr_client
from gps_denied_onboard.fdr_client.log_bridge import uninstall_log_bridge
from gps_denied_onboard.logging import configure_logging, get_logger
from gps_denied_onboard.runtime_root.availability import component_available, require_component

if TYPE_CHECKING:  # C1 and C2 may be gated out: imported after require_component
    from gps_denied_onboard.components.c1_camera import FrameSource
    from gps_denied_onboard.runtime_root.airborne_runtime import AirborneRuntime, FrameEvent

_log = get_logger("airborne")

PRODUCERS = ("runtime", "c1_camera.vision", "localization", "c2_fc_link", "c2_fc_link.out", "runtime.output")
EXIT_CONFIG = 2
EXIT_STARTUP = 1


class AirborneStartupError(Exception):
    """The flight process cannot start (map cache refused, camera or link unavailable)."""


@dataclass
class AirborneAssembly:
    """Everything `build_airborne` made; `start()` then `shutdown()`."""

    config: GdnConfig
    clock: Clock
    registry: FdrClientRegistry
    clients: dict[str, FdrClient]
    writer: Any  # c13_fdr.FileFdrWriter
    link: Any  # c2_fc_link.FcLink
    pipeline: Any
    runtime: AirborneRuntime
    flight_id: str
    closers: list[Callable[[], None]] = field(default_factory=list)
    footer: Any = None

    @property
    def flight_dir(self) -> Path:
        return Path(self.config.fdr.flight_root) / self.flight_id

    def start(self) -> None:
        self.link.start()
        self.runtime.start()
        _log.info("airborne runtime started", kind="airborne_started", flight_id=self.flight_id)

    def shutdown(self) -> Any:
        """Stop every thread, close the flight (footer clean_shutdown=true), stop the writer."""
        self.runtime.stop()
        self.link.stop()
        c = self.runtime.counters
        self.clients["runtime"].enqueue("runtime.stopped", {
            "frames_in": c.frames_in, "frames_dropped": c.frames_dropped, "frames_processed": c.frames_processed,
            "positions_sent": c.positions_sent, "worker_errors": c.worker_errors, "restarts": c.restarts,
            "stalls_reported": c.stalls_reported})
        for close in self.closers:
            close()
        self.footer = self.writer.close_flight()
        self.writer.stop()
        uninstall_log_bridge()
        _log.info("airborne runtime stopped", kind="airborne_stopped", flight_id=self.flight_id,
                  clean=self.footer.clean_shutdown)
        return self.footer


def open_map_and_camera(cfg: GdnConfig) -> tuple[MapSource, CameraModel | None, dict[str, str], Callable[[], None]]:
    """The verified cache (or a bench raster): map source, its camera calibration,
    the manifest's file hashes (for the FDR header), and how to close it."""
    acfg = cfg.airborne
    if acfg.map_raster:
        c7 = require_component("c7_geo_registration", "airborne run --map-raster")
        try:
            return c7.GeoRasterMap(acfg.map_raster), None, {}, lambda: None
        except c7.MapLoadError as exc:
            raise AirborneStartupError(f"map raster {acfg.map_raster}: {exc}") from exc
    c4 = require_component("c4_map_cache", "airborne run")
    state = acfg.cache_state or str(Path(acfg.cache_dir).parent / ".gdn_accepted_versions.json")
    try:
        cache = c4.open_cache(acfg.cache_dir, trusted_keys=[Path(k) for k in acfg.trusted_keys], state_path=state)
    except (c4.MapCacheError, OSError) as exc:
        raise AirborneStartupError(f"map cache {acfg.cache_dir} refused: {exc}") from exc
    hashes = {f.path: f.sha256 for f in cache.manifest.files}
    try:
        camera = cache.camera_model()
    except c4.MapCacheError:
        camera = None
    return described_cache_map(cache), camera, hashes, cache.close


def described_cache_map(cache: Any) -> MapSource:
    """The cache's `MapSource`, carrying its provisioned global descriptors so C6's
    relocalisation index uses them instead of describing the map again (C6 checks
    the extractor name; without C6 in the binary the plain map source)."""
    if not component_available("c6_place_recognition"):
        return cache.map_source()  # type: ignore[no-any-return]
    c6 = require_component("c6_place_recognition", "airborne run")
    c4 = require_component("c4_map_cache", "airborne run")
    try:
        table = cache.descriptors()
    except c4.MapCacheError as exc:  # a malformed optional table: C6 builds its own index
        _log.warning("cache descriptors unreadable", kind="cache_descriptors_unreadable", error=str(exc))
        table = None
    return c6.DescribedMap(cache.map_source(), table)  # type: ignore[no-any-return]


def camera_factory_from_config(cfg: GdnConfig, clock: Clock) -> Callable[[], FrameSource]:
    """C1 sources from `airborne.camera`: `replay:DATASET_DIR` (paced on `clock` from
    now), `v4l2:/dev/videoN` or `gst:PIPELINE` (live, reconnected on a stall)."""
    c1 = require_component("c1_camera", "airborne run")
    spec = cfg.airborne.camera
    if spec.startswith("replay:"):
        from gps_denied_onboard.dataset import read_flight

        flight = read_flight(Path(spec.partition(":")[2]))
        start = clock.monotonic_ns()
        return lambda: c1.ReplaySource.from_flight(flight, clock, start_ns=start)
    stall_s = cfg.airborne.camera_stall_s
    return lambda: c1.OpenCvCaptureSource.from_spec(spec, clock, stall_timeout_s=stall_s)


def build_airborne(cfg: GdnConfig, *, clock: Clock | None = None, camera_factory: Callable[[], FrameSource] | None = None,
                   map_source: MapSource | None = None, camera: CameraModel | None = None,
                   ground_alt_msl_m: float | None = None, flight_id: str | None = None,
                   on_frame: Callable[[FrameEvent], None] | None = None) -> AirborneAssembly:
    """Build C1-C9 and C13 from `cfg` (arguments override what the config would
    open: the demo passes its own camera replay and map). Opens the FDR flight."""
    clock = clock or WallClock()
    c13 = require_component("c13_fdr", "airborne run")
    c2 = require_component("c2_fc_link", "airborne run")
    require_component("c1_camera", "airborne run")  # the runtime's frame-source protocol
    registry = FdrClientRegistry()
    clients = {p: make_fdr_client(p, cfg, registry=registry) for p in PRODUCERS}
    closers: list[Callable[[], None]] = []
    hashes: dict[str, str] = {}
    if map_source is None:
        map_source, cache_camera, hashes, close = open_map_and_camera(cfg)
        closers.append(close)
        camera = camera or cache_camera
    try:
        if cfg.airborne.camera_calibration:
            c4 = require_component("c4_map_cache", "airborne.camera_calibration")
            path = cfg.airborne.camera_calibration
            try:
                camera = c4.parse_camera_yaml(Path(path).read_bytes(), path)
            except c4.MapCacheError as exc:
                raise AirborneStartupError(f"camera calibration {path}: {exc}") from exc
        if camera is None:
            raise AirborneStartupError("no camera calibration: set airborne.camera_calibration or use a cache with one")
    except BaseException:
        for close in closers:
            close()
        raise
    install_log_bridge(make_fdr_client("log", cfg, registry=registry))
    link_holder: list[Any] = []

    def gcs_alert(text: str) -> None:
        if link_holder:
            link_holder[0].send_statustext(text, "error")

    writer = c13.FileFdrWriter(cfg, registry=registry, clock=clock,
                               on_rotation=c13.CapacityCapPolicy(cfg.fdr.flight_cap_bytes), gcs_alert=gcs_alert)
    writer.start()
    flight_id = flight_id or f"flight-{clock.wall_iso()[:19].replace(':', '').replace('-', '')}-{uuid.uuid4().hex[:8]}"
    snapshot, _digest = config_snapshot(cfg)
    try:
        writer.open_flight(c13.FlightHeader.now(flight_id, clock, config_snapshot=snapshot,
                                                manifest_content_hashes=hashes))
    except (c13.FdrError, OSError) as exc:  # e.g. another airborne process holds the flight root
        writer.stop()
        uninstall_log_bridge()
        for close in closers:
            close()
        raise AirborneStartupError(f"FDR flight root {cfg.fdr.flight_root}: {exc}") from exc
    try:
        return _assemble(cfg, c2, clock, registry, clients, writer, link_holder, map_source, camera, ground_alt_msl_m,
                         flight_id, camera_factory, on_frame, closers)
    except BaseException:
        # Nothing runs yet: close the flight (its records say why) and release the FDR lock.
        _log.error("airborne runtime could not be assembled", kind="airborne_build_failed", exc_info=True)
        writer.stop()
        uninstall_log_bridge()
        for close in closers:
            close()
        raise


def _assemble(cfg: GdnConfig, c2: Any, clock: Clock, registry: FdrClientRegistry, clients: dict[str, FdrClient],
              writer: Any, link_holder: list[Any], map_source: MapSource, camera: CameraModel,
              ground_alt_msl_m: float | None, flight_id: str, camera_factory: Callable[[], FrameSource] | None,
              on_frame: Callable[[FrameEvent], None] | None, closers: list[Callable[[], None]]) -> AirborneAssembly:
    from gps_denied_onboard.runtime_root.airborne_pipeline import build_localization_pipeline
    from gps_denied_onboard.runtime_root.airborne_position_reset import PositionResetSettings
    from gps_denied_onboard.runtime_root.airborne_runtime import AirborneRuntime, RuntimeSettings

    link = c2.FcLink(cfg.fc_link, clock=clock, fdr=clients["c2_fc_link"], fdr_out=clients["c2_fc_link.out"])
    link_holder.append(link)
    ground = cfg.airborne.ground_alt_msl_m if ground_alt_msl_m is None else ground_alt_msl_m
    pipeline = build_localization_pipeline(cfg.localization, map_source, camera, clock, ground_alt_msl_m=ground,
                                           record_sink=clients["localization"])
    a = cfg.airborne
    settings = RuntimeSettings(output_rate_hz=cfg.fc_link.output_rate_hz, frame_queue=a.frame_queue,
                               telemetry_queue=a.telemetry_queue, stall_timeout_s=a.stall_timeout_s,
                               camera_stall_s=a.camera_stall_s, supervise_interval_s=a.supervise_interval_s,
                               position_reset=PositionResetSettings(
                                   reset_after_lost_s=cfg.fc_link.reset_after_lost_s,
                                   request_timeout_s=cfg.fc_link.reset_request_timeout_s))
    runtime = AirborneRuntime(pipeline=pipeline, link=link,
                              camera_factory=camera_factory or camera_factory_from_config(cfg, clock), clock=clock,
                              settings=settings, fdr_vision=clients["c1_camera.vision"],
                              fdr_output=clients["runtime.output"], fdr_supervisor=clients["runtime"],
                              on_frame=on_frame)
    clients["runtime"].enqueue("runtime.started", {"flight_id": flight_id, "camera": a.camera,
                                                   "link": cfg.fc_link.url, "outputs": list(cfg.fc_link.outputs)})
    return AirborneAssembly(cfg, clock, registry, clients, writer, link, pipeline, runtime, flight_id, closers)


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        _log.info("signal received: shutting down", kind="signal", signum=signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_main(argv: list[str]) -> int:
    """`airborne run --config FILE`: fly until SIGTERM/SIGINT."""
    ap = argparse.ArgumentParser(prog="airborne run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=Path("/etc/gdn/airborne.yaml"), help="airborne YAML config")
    ap.add_argument("--flight-id", help="FDR flight id (default: time + random suffix)")
    ap.add_argument("--exit-when-camera-ends", action="store_true",
                    help="with a replay camera: close the flight when the replay ends (bench)")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"airborne run: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(cfg.runtime.log_level)
    stop = threading.Event()
    _install_signals(stop)
    try:
        assembly = build_airborne(cfg, flight_id=args.flight_id)
    except (AirborneStartupError, OSError, ValueError) as exc:
        print(f"airborne run: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    try:
        assembly.start()
    except OSError as exc:  # FcLinkTransportError, camera device: systemd restarts us
        print(f"airborne run: cannot start: {exc}", file=sys.stderr)
        assembly.shutdown()
        return EXIT_STARTUP
    # SIGUSR1: the operator asks for a one-off autopilot position reset
    # (`systemctl kill -s USR1 gdn-airborne`), sent at the next healthy output.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: assembly.runtime.request_position_reset())
    try:
        assembly.runtime.run(stop, until_camera_exhausted=args.exit_when_camera_ends)
    finally:
        footer = assembly.shutdown()
    print(f"airborne run: flight {assembly.flight_id} closed (clean_shutdown={footer.clean_shutdown}, "
          f"{footer.records_written} records) in {assembly.flight_dir}")
    return 0
