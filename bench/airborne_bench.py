"""Airborne runtime benchmark (issue 8): real-time factor, CPU and memory of the
flight process (C1-C9, C13 threads, MAVLink link) over a synthetic flight flown in
real time against the autopilot emulator, plus what the autopilot saw and where
each frame's capture -> send time goes.

    PYTHONPATH=python python bench/airborne_bench.py [--duration 600] [--fps 2] [--json out.json]
        [--emulator process|inline] [--stop-after S] [--tracemalloc]

The world, the signed cache and the flight are generated once and reused from
the user's cache (like the demo). Real-time factor = flight time / vision-thread
busy time (how many times faster than real time the frames are processed).

Memory: by default the autopilot emulator (test harness) runs in a child process
(`EmulatorProcess`), so the flight process's RSS is the airborne side's (plus this
script's per-frame rows, a few hundred bytes a frame); the emulator's RSS is
sampled and reported apart. Both are sampled every second; "flat" is judged by the
least-squares slope over the second half of the flight, the plateau is the median
of the last quarter. `--tracemalloc` adds Python-heap snapshots of the flight
process (after a warm-up and when the camera ends, before shutdown), and reports
what grew between them by file:line (numpy buffers are traced, OpenCV's own C++
allocations are not; tracing slows the process, so its latency figures are not
the benchmark's). `--stop-after S` ends the flight after S seconds of camera time
(a shorter soak on the long flight's inputs).

Stage timings: the pipeline's stages are wrapped with a timer (a few microseconds
a call) and attributed per frame: queue (capture -> vision start), orthorectify,
VO, map read, match (orientation field, correlation, block correspondences), pose
solve, filter, the rest of the frame, the output at the frame's time, and the
hand-off to the output thread + link send (capture -> sent minus the rest).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from gps_denied_onboard.autopilot_emulator import EmulatorProcess
from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.components.c7_geo_registration import map_fields as c7_map_fields
from gps_denied_onboard.components.c7_geo_registration import registrar as c7_registrar
from gps_denied_onboard.logging import configure_logging
from gps_denied_onboard.runtime_root import demo_rehearsal
from gps_denied_onboard.runtime_root.demo import DemoParams, prepare, user_cache_dir
from gps_denied_onboard.runtime_root.demo_rehearsal import run_rehearsal

STAGES = ("queue", "orthorectify", "vo", "map_read", "match", "pose_solve", "filter", "frame_other", "output",
          "handoff_send")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def _slope_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return math.nan
    ts = [t for t, _ in samples]
    vs = [v for _, v in samples]
    mt, mv = sum(ts) / len(ts), sum(vs) / len(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return 60.0 * sum((t - mt) * (v - mv) for t, v in zip(ts, vs, strict=True)) / den if den > 0 else math.nan


def _memory_figures(samples: list[tuple[float, float]], wall_s: float) -> dict[str, Any]:
    """First / max / last, the second half's slope and the plateau (median of the last quarter)."""
    if not samples:
        return {}
    half = [x for x in samples if x[0] >= wall_s / 2]
    last_q = [v for t, v in samples if t >= wall_s * 0.75] or [samples[-1][1]]
    return {"first": round(samples[0][1], 1), "max": round(max(v for _, v in samples), 1),
            "last": round(samples[-1][1], 1), "plateau_last_quarter_median": round(statistics.median(last_q), 1),
            "slope_second_half_mib_per_min": round(_slope_per_min(half), 3),
            # the shape behind the slope: one sample every 30 s (s, MiB)
            "every_30s": [(round(t), round(v, 1)) for t, v in samples[::30]]}


@dataclass(frozen=True)
class _FrameTiming:
    """One frame's stage times (ms) on the vision thread."""

    capture_ns: int
    vision_done_ns: int
    stages_ms: dict[str, float]


class StageTimer:
    """Wraps the pipeline's stages with a timer and attributes them to the frame in
    progress on the vision thread (a thread-local accumulator: the output thread's
    calls to the same objects are not counted in a frame)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.frames: list[_FrameTiming] = []
        self.send_ms: list[float] = []

    def _add(self, stage: str, ms: float) -> None:
        acc: dict[str, float] | None = getattr(self._local, "acc", None)
        if acc is not None:
            acc[stage] = acc.get(stage, 0.0) + ms

    def wrap(self, owner: Any, attr: str, stage: str) -> None:
        """Time `owner.attr` exclusively: a timed call inside another (orientation
        field inside orthorectify, correlation inside block matching) is counted in
        its own stage only, so the stages add up to the frame."""
        fn = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] | None = getattr(self._local, "stack", None)
            if stack is None:
                stack = self._local.stack = []
            stack.append(0.0)  # time spent in timed calls nested in this one
            t0 = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                total = (time.perf_counter_ns() - t0) / 1e6
                nested = stack.pop()
                if stack:
                    stack[-1] += total
                self._add(stage, total - nested)
        setattr(owner, attr, timed)

    def install(self, pipeline: Any, link: Any) -> None:
        for reg in (pipeline.registrar, pipeline._reloc_registrar):
            self.wrap(reg, "make_ortho", "orthorectify")
            self.wrap(reg, "_block_correspondences", "match")
        for name in ("correlate", "orientation_field", "peak_of"):
            self.wrap(c7_registrar, name, "match")
        # the whole-map search: the map field derived once per scale, then correlated
        # against its cached spectrum (its map read nests under map_read)
        self.wrap(c7_map_fields, "compute_map_field", "match")
        self.wrap(c7_map_fields.MapField, "correlate", "match")
        self.wrap(c7_registrar, "solve_pose", "pose_solve")
        self.wrap(pipeline.map, "read_patch", "map_read")
        self.wrap(pipeline.vo, "step", "vo")
        for name in ("update_position", "update_velocity", "estimate", "reset"):
            self.wrap(pipeline.ekf, name, "filter")
        on_frame, output, send = pipeline.on_frame, pipeline.output, link.send_position

        def frame(t_ns: int, image: Any) -> Any:
            t0 = time.monotonic_ns()
            self._local.acc = acc = {"queue": (t0 - t_ns) / 1e6}
            self._local.capture_ns = t_ns
            try:
                return on_frame(t_ns, image)
            finally:
                inner = sum(v for k, v in acc.items() if k != "queue")
                acc["frame_other"] = (time.monotonic_ns() - t0) / 1e6 - inner

        def out(t_ns: int) -> Any:
            acc: dict[str, float] | None = getattr(self._local, "acc", None)
            t0 = time.monotonic_ns()
            try:
                return output(t_ns)
            finally:
                if acc is not None and t_ns == getattr(self._local, "capture_ns", None):
                    # the runtime asks for the solution at the frame's own time right after it
                    done = time.monotonic_ns()
                    acc["output"] = (done - t0) / 1e6
                    self.frames.append(_FrameTiming(t_ns, done, dict(acc)))
                    self._local.acc = None

        def timed_send(position: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return send(position)
            finally:
                self.send_ms.append((time.perf_counter_ns() - t0) / 1e6)
        pipeline.on_frame, pipeline.output, link.send_position = frame, out, timed_send

    def breakdown(self, latencies_ms: dict[int, float], tracked: set[int]) -> dict[str, Any]:
        """Per-stage p50 / p99 and the mean split of the slowest 1 % of frames (by
        capture -> send), over the tracked frames (after the first fix)."""
        rows: list[tuple[float, dict[str, float]]] = []
        for f in self.frames:
            lat = latencies_ms.get(f.capture_ns)
            if lat is None or f.capture_ns not in tracked:
                continue
            st = {k: f.stages_ms.get(k, 0.0) for k in STAGES if k != "handoff_send"}
            st["handoff_send"] = lat - (f.vision_done_ns - f.capture_ns) / 1e6
            rows.append((lat, st))
        if not rows:
            return {}
        cut = _pct([lat for lat, _ in rows], 99)
        tail = [st for lat, st in rows if lat >= cut]
        return {
            "frames": len(rows),
            "p50_ms": {k: round(_pct([st[k] for _, st in rows], 50), 1) for k in STAGES},
            "p99_ms": {k: round(_pct([st[k] for _, st in rows], 99), 1) for k in STAGES},
            "slowest_1pct": {"frames": len(tail), "latency_from_ms": round(cut, 1),
                             "mean_ms": {k: round(statistics.fmean(st[k] for st in tail), 1) for k in STAGES}},
            "link_send_ms": {"p50": round(_pct(self.send_ms, 50), 2), "p99": round(_pct(self.send_ms, 99), 2)},
        }


class _Truncated:
    """The replay camera, ended `stop_at_ns` (monotonic) in for `--stop-after` (a shorter
    soak on long inputs); `on_end` runs once, on the camera thread, when it first reports
    the end (the flight's state is all still alive then: the end-of-flight snapshot)."""

    def __init__(self, inner: Any, stop_at_ns: int, on_end: Callable[[], None]) -> None:
        self._inner, self._stop_at_ns, self._on_end = inner, stop_at_ns, on_end

    @property
    def stats(self) -> Any:
        return self._inner.stats

    @property
    def exhausted(self) -> bool:
        ended = bool(self._inner.exhausted) or time.monotonic_ns() >= self._stop_at_ns
        if ended:
            self._on_end()
        return ended

    def read(self, timeout_s: float | None = None) -> Any:
        if time.monotonic_ns() >= self._stop_at_ns:
            return None
        return self._inner.read(timeout_s)

    def close(self) -> None:
        self._inner.close()


@contextlib.contextmanager
def _emulator_in_child(enabled: bool) -> Iterator[None]:
    """Run the rehearsal's emulator in a child process: `run_rehearsal` builds it by
    the name it imported, so the name is pointed at `EmulatorProcess` for the run."""
    if not enabled:
        yield
        return
    original = demo_rehearsal.AutopilotEmulator
    demo_rehearsal.AutopilotEmulator = EmulatorProcess  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        demo_rehearsal.AutopilotEmulator = original  # type: ignore[misc]


def _growth(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, key: str, top: int) -> list[dict[str, Any]]:
    stats = last.compare_to(first, key)
    stats.sort(key=lambda st: st.size_diff, reverse=True)
    return [{"where": str(st.traceback[0]) if key == "lineno" else st.traceback[0].filename,
             "grew_kib": round(st.size_diff / 1024, 1), "now_kib": round(st.size / 1024, 1),
             "blocks_grew": st.count_diff} for st in stats[:top]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="flight length in seconds (600 for the full figure)")
    ap.add_argument("--fps", type=float, default=2.0, help="camera frames per second")
    ap.add_argument("--world-px", type=int, default=2048)
    ap.add_argument("--work-dir", type=Path, help="where inputs are cached (default: the demo's cache, keyed)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ap.add_argument("--emulator", choices=("process", "inline"), default="process",
                    help="the autopilot emulator in a child process (default) or in the flight process")
    ap.add_argument("--stop-after", type=float, help="end the flight after this many seconds of camera time")
    ap.add_argument("--tracemalloc", action="store_true", help="Python-heap growth by file:line (slows the run)")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the first tracemalloc snapshot")
    args = ap.parse_args(argv)
    configure_logging("ERROR")
    params = DemoParams(seed=21, world_px=args.world_px, duration_s=args.duration, fps=args.fps)
    root = args.work_dir or user_cache_dir() / f"bench-{params.key()}"
    t0 = time.monotonic()
    prep = prepare(params, root, rebuild=False, say=lambda s: print(s, file=sys.stderr))
    prep_s = time.monotonic() - t0
    proc = psutil.Process()
    rss: list[tuple[float, float]] = []
    rss_anon: list[tuple[float, float]] = []
    emu_rss: list[tuple[float, float]] = []
    traced: list[tuple[float, float]] = []
    snaps: dict[str, tracemalloc.Snapshot] = {}
    stop = threading.Event()
    live: dict[str, Any] = {}
    timer = StageTimer()

    def during(assembly: Any, emu: Any) -> None:
        timer.install(assembly.pipeline, assembly.link)
        live["assembly"] = assembly
        pid = getattr(emu, "pid", None)
        live["emu_proc"] = psutil.Process(pid) if pid is not None else None

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(1.0):
            t = time.monotonic() - start
            mem = proc.memory_info()
            rss.append((t, mem.rss / 2**20))
            # anonymous memory alone: RSS also counts the map cache's memory-mapped tile
            # pages (clean file pages the kernel can drop), which grow with the route
            rss_anon.append((t, (mem.rss - mem.shared) / 2**20))
            emu_proc = live.get("emu_proc")
            if emu_proc is not None:
                with contextlib.suppress(psutil.Error):
                    emu_rss.append((t, emu_proc.memory_info().rss / 2**20))
            if args.tracemalloc:
                traced.append((t, tracemalloc.get_traced_memory()[0] / 2**20))
                if "warm" not in snaps and t >= args.warmup:
                    snaps["warm"] = tracemalloc.take_snapshot()

    cache = open_cache(prep.cache_dir, trusted_keys=[prep.public_key], state_path=prep.state_path)
    end_lock = threading.Lock()

    def at_camera_end() -> None:
        with end_lock:
            if args.tracemalloc and "warm" in snaps and "end" not in snaps:
                snaps["end"] = tracemalloc.take_snapshot()  # before shutdown frees the flight's state

    stop_at = time.monotonic_ns() + int((demo_rehearsal.LEAD_IN_S + args.stop_after) * 1e9) \
        if args.stop_after is not None else 2**62

    def wrapper(src: Any) -> Any:
        return _Truncated(src, stop_at, at_camera_end)
    sampler = threading.Thread(target=sample, daemon=True)
    if args.tracemalloc:
        tracemalloc.start()
    cpu0 = proc.cpu_times()
    wall0 = time.monotonic()
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp, _emulator_in_child(args.emulator == "process"):
        try:
            result = run_rehearsal(prep.flight_dir, cache.map_source(), fdr_root=Path(tmp) / "fdr", during=during,
                                   camera_wrapper=wrapper)
        finally:
            stop.set()
            cache.close()
        fdr_bytes = sum(f.stat().st_size for f in Path(result.flight_dir).glob("*"))
    wall = time.monotonic() - wall0
    cpu1 = proc.cpu_times()
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    proc_ms = [r.processing_ms for r in result.rows]
    busy_s = sum(proc_ms) / 1e3
    camera_s = min(result.flight_s, args.stop_after) if args.stop_after is not None else result.flight_s
    rep = result.report
    lat = result.tracking_latencies_ms()
    first = result.first_fix
    tracked = {r.capture_ns for r in result.rows[first + 1:]} if first is not None else set()
    errors = [r.error_m for r in result.rows[first or 0:] if r.error_m is not None]
    figures: dict[str, Any] = {
        "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                 "load_avg_1m_end": os.getloadavg()[0], "load_avg_15m_end": os.getloadavg()[2]},
        "emulator": args.emulator, "tracemalloc": args.tracemalloc,
        "flight_s": round(camera_s, 1), "wall_s": round(wall, 1), "inputs_prepare_s": round(prep_s, 1),
        "frames": {"in": result.counters["frames_in"], "processed": result.counters["frames_processed"],
                   "dropped": result.counters["frames_dropped"]},
        "processing_ms": {"p50": round(_pct(proc_ms, 50), 1), "p99": round(_pct(proc_ms, 99), 1)},
        "real_time_factor": round(camera_s / busy_s, 2) if busy_s > 0 else None,
        "cpu_cores_used": round(cpu_s / wall, 3),
        "rss_mib": _memory_figures(rss, wall),
        "rss_anon_mib": _memory_figures(rss_anon, wall),
        "emulator_rss_mib": _memory_figures(emu_rss, wall),
        "autopilot": {"gps_input_hz": round(rep.rate_hz(), 2), "max_gap_s": round(rep.max_gap_s(), 3),
                      "accepted": round(rep.acceptance_ratio(), 4),
                      "latency_ms": {"p50": round(_pct(lat, 50), 1), "p99": round(_pct(lat, 99), 1)}},
        "latency_breakdown": timer.breakdown(result.latencies_ms, tracked),
        "error_m": {"p50": round(_pct(errors, 50), 2), "p95": round(_pct(errors, 95), 2)},
        "fdr": {"records": result.footer.records_written, "bytes": fdr_bytes,
                "clean_shutdown": result.footer.clean_shutdown},
    }
    if args.tracemalloc:
        tracemalloc.stop()
        figures["traced_mib"] = _memory_figures(traced, wall)
        if "warm" in snaps and "end" in snaps:
            figures["traced_growth_warm_to_end"] = {
                "by_line": _growth(snaps["warm"], snaps["end"], "lineno", 20),
                "by_file": _growth(snaps["warm"], snaps["end"], "filename", 12)}
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
