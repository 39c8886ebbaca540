"""A rehearsal: one flight dataset through the real airborne runtime (C1-C9, C13,
threads, supervision) in real time, against the autopilot emulator over MAVLink
on UDP loopback. Used by `demo`, the end-to-end tests and the benchmark.

Clocks: the emulator maps the dataset's time t to monotonic start + (t - t0);
the replay camera releases each frame at that same instant, stamped with it, so
the airborne side sees what it would see in flight (frames and telemetry on
one clock, telemetry timestamps converted through TIMESYNC).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gps_denied_onboard._types import MapSource
from gps_denied_onboard.autopilot_emulator import (
    AutopilotEmulator,
    EmulatorReport,
    FaultPlan,
    FlightTrack,
    ne_error_m,
)
from gps_denied_onboard.clock import WallClock
from gps_denied_onboard.config import GdnConfig
from gps_denied_onboard.dataset import FlightDataset, read_flight
from gps_denied_onboard.runtime_root.airborne import AirborneAssembly, build_airborne
from gps_denied_onboard.runtime_root.airborne_runtime import FrameEvent
from gps_denied_onboard.runtime_root.availability import require_component

if TYPE_CHECKING:
    from gps_denied_onboard.components.c1_camera import FrameSource

LEAD_IN_S = 1.0  # the link exchanges HEARTBEAT/TIMESYNC before the first sample is due


@dataclass(frozen=True)
class FrameRow:
    """One processed frame, judged against the truth (for progress and the summary)."""

    index: int
    capture_ns: int
    flight_ns: int
    accepted: bool
    reason: str
    source: str
    health: str
    error_m: float | None
    sigma_m: float | None
    processing_ms: float
    est_ne_m: tuple[float, float] | None = None  # estimate, metres north/east of the flight's first truth
    truth_ne_m: tuple[float, float] | None = None


@dataclass(frozen=True)
class RehearsalResult:
    report: EmulatorReport
    footer: Any  # c13_fdr.FlightFooter
    flight_dir: Path  # the FDR flight
    rows: tuple[FrameRow, ...]
    latencies_ms: dict[int, float]  # frame capture_ns -> ms to the first position message sent after it
    counters: dict[str, int]
    link_stats: Any
    wall_s: float
    flight_s: float

    @property
    def first_fix(self) -> int | None:
        """Position in `rows` of the first accepted absolute fix."""
        return next((i for i, r in enumerate(self.rows) if r.accepted), None)

    def tracking_latencies_ms(self) -> list[float]:
        """Capture -> send latency of every frame after the first fix (the (re)localisation
        search that produces the first fix is time-to-first-fix, measured apart)."""
        first = self.first_fix
        if first is None:
            return []
        return [self.latencies_ms[r.capture_ns] for r in self.rows[first + 1:] if r.capture_ns in self.latencies_ms]


def rehearsal_config(base: GdnConfig, emulator_url: str, fdr_root: Path) -> GdnConfig:
    """`base` with the link pointed at the emulator and the FDR under `fdr_root`."""
    return dataclasses.replace(
        base,
        fc_link=dataclasses.replace(base.fc_link, url=emulator_url),
        fdr=dataclasses.replace(base.fdr, flight_root=str(fdr_root), segment_bytes=min(base.fdr.segment_bytes,
                                                                                    16 * 1024 * 1024)),
    )


def run_rehearsal(
    flight: FlightDataset | Path,
    map_source: MapSource,
    *,
    fdr_root: Path,
    config: GdnConfig | None = None,
    faults: FaultPlan | None = None,
    camera_wrapper: Callable[[FrameSource], FrameSource] | None = None,
    on_row: Callable[[FrameRow], None] | None = None,
    during: Callable[[AirborneAssembly, AutopilotEmulator], None] | None = None,
    use_prior: bool = True,
    flight_id: str | None = None,
) -> RehearsalResult:
    """Fly `flight` through the airborne runtime against the emulator; returns what
    the emulated autopilot judged and where the FDR flight is. `during` runs on its
    own thread once everything is up (fault-injection tests use it)."""
    c1 = require_component("c1_camera", "demo rehearsal")
    ds = flight if isinstance(flight, FlightDataset) else read_flight(Path(flight))
    track = FlightTrack.from_dataset(ds)
    clock = WallClock()
    emu = AutopilotEmulator(track, faults=faults, clock=clock)
    cfg = rehearsal_config(config or GdnConfig(), emu.url, fdr_root)
    rows: list[FrameRow] = []
    origin = track.truth_at(int(ds.frames[0].t_ns))

    def frame_event(ev: FrameEvent) -> None:
        flight_ns = emu.flight_from_mono(ev.capture_ns)
        err = sigma = None
        est_ne = truth_ne = None
        out = ev.output
        if track.covers(flight_ns) and out is not None and out.source != "none":
            truth = track.truth_at(flight_ns)
            dn, de = ne_error_m(out.lat_deg, out.lon_deg, truth.lat_deg, truth.lon_deg)
            err = (dn * dn + de * de) ** 0.5
            sigma = (out.cov_nn + out.cov_ee) ** 0.5
            truth_ne = ne_error_m(truth.lat_deg, truth.lon_deg, origin.lat_deg, origin.lon_deg)
            est_ne = (truth_ne[0] + dn, truth_ne[1] + de)
        row = FrameRow(ev.index, ev.capture_ns, flight_ns, bool(ev.report.accepted), str(ev.report.reason),
                       str(out.source), str(out.health), err, sigma, ev.processing_ms, est_ne, truth_ne)
        rows.append(row)
        if on_row is not None:
            on_row(row)

    start_ns = clock.monotonic_ns() + int(LEAD_IN_S * 1e9)
    first_frame_ns = start_ns + (int(ds.frames[0].t_ns) - track.t0_ns)

    def camera() -> FrameSource:
        # A reopened camera resumes at the frame due now, like a live camera would.
        src: FrameSource = c1.ReplaySource.from_flight(ds, clock, start_ns=first_frame_ns, skip_past=True)
        return camera_wrapper(src) if camera_wrapper is not None else src

    assembly = build_airborne(cfg, clock=clock, camera_factory=camera, map_source=map_source, camera=ds.camera,
                              ground_alt_msl_m=ds.meta.ground_alt_msl_m, flight_id=flight_id, on_frame=frame_event)
    if use_prior and ds.prior is not None and len(ds.prior):
        lat, lon, sigma = (float(v) for v in ds.prior.values[0][:3])
        assembly.pipeline.on_prior(first_frame_ns, lat, lon, sigma)  # before any thread runs: no lock needed
    stop = threading.Event()
    wall0 = clock.monotonic_ns()
    helper: threading.Thread | None = None
    try:
        assembly.start()
        emu.start(start_ns)
        if during is not None:
            helper = threading.Thread(target=during, args=(assembly, emu), name="rehearsal-during", daemon=True)
            helper.start()
        assembly.runtime.run(stop, until_camera_exhausted=True)
    finally:
        footer = assembly.shutdown()
        report = emu.stop()
        if helper is not None:
            helper.join(5.0)
    c = assembly.runtime.counters
    counters = {k: v for k, v in dataclasses.asdict(c).items() if isinstance(v, int)}
    return RehearsalResult(
        report=report, footer=footer, flight_dir=assembly.flight_dir, rows=tuple(rows),
        latencies_ms=dict(c.latencies_ms), counters=counters, link_stats=assembly.link.stats(),
        wall_s=(clock.monotonic_ns() - wall0) / 1e9, flight_s=(track.t_end_ns - track.t0_ns) / 1e9)
