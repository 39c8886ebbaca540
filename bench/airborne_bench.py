"""Airborne runtime benchmark (issue 8): real-time factor, CPU and memory of the
whole flight process (C1-C9, C13 threads, MAVLink link) over a synthetic flight
flown in real time against the autopilot emulator, plus what the autopilot saw.

    PYTHONPATH=python python bench/airborne_bench.py [--duration 600] [--fps 2] [--json out.json]

The world, the signed cache and the flight are generated once and reused from
the user's cache (like the demo). Real-time factor = flight time / vision-thread
busy time (how many times faster than real time the frames are processed);
memory is the process RSS sampled every second; "flat" is judged by the
least-squares slope over the second half of the flight.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from gps_denied_onboard.components.c4_map_cache import open_cache
from gps_denied_onboard.logging import configure_logging
from gps_denied_onboard.runtime_root.demo import DemoParams, prepare, user_cache_dir
from gps_denied_onboard.runtime_root.demo_rehearsal import run_rehearsal


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="flight length in seconds (600 for the full figure)")
    ap.add_argument("--fps", type=float, default=2.0, help="camera frames per second")
    ap.add_argument("--world-px", type=int, default=2048)
    ap.add_argument("--work-dir", type=Path, help="where inputs are cached (default: the demo's cache, keyed)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args(argv)
    configure_logging("ERROR")
    params = DemoParams(seed=21, world_px=args.world_px, duration_s=args.duration, fps=args.fps)
    root = args.work_dir or user_cache_dir() / f"bench-{params.key()}"
    t0 = time.monotonic()
    prep = prepare(params, root, rebuild=False, say=lambda s: print(s, file=sys.stderr))
    prep_s = time.monotonic() - t0
    proc = psutil.Process()
    rss: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(1.0):
            rss.append((time.monotonic() - start, proc.memory_info().rss / 2**20))

    cache = open_cache(prep.cache_dir, trusted_keys=[prep.public_key], state_path=prep.state_path)
    sampler = threading.Thread(target=sample, daemon=True)
    cpu0 = proc.cpu_times()
    wall0 = time.monotonic()
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = run_rehearsal(prep.flight_dir, cache.map_source(), fdr_root=Path(tmp) / "fdr")
        finally:
            stop.set()
            cache.close()
        fdr_bytes = sum(f.stat().st_size for f in Path(result.flight_dir).glob("*"))
    wall = time.monotonic() - wall0
    cpu1 = proc.cpu_times()
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    proc_ms = [r.processing_ms for r in result.rows]
    busy_s = sum(proc_ms) / 1e3
    rep = result.report
    half = [s for s in rss if s[0] >= wall / 2]
    lat = result.tracking_latencies_ms()
    errors = [r.error_m for r in result.rows[result.first_fix or 0:] if r.error_m is not None]
    figures = {
        "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                 "load_avg_1m_end": os.getloadavg()[0]},
        "flight_s": round(result.flight_s, 1), "wall_s": round(wall, 1), "inputs_prepare_s": round(prep_s, 1),
        "frames": {"in": result.counters["frames_in"], "processed": result.counters["frames_processed"],
                   "dropped": result.counters["frames_dropped"]},
        "processing_ms": {"p50": round(_pct(proc_ms, 50), 1), "p99": round(_pct(proc_ms, 99), 1)},
        "real_time_factor": round(result.flight_s / busy_s, 2) if busy_s > 0 else None,
        "cpu_cores_used": round(cpu_s / wall, 3),
        "rss_mib": {"first": round(rss[0][1], 1) if rss else None, "max": round(max(v for _, v in rss), 1) if rss else None,
                    "last": round(rss[-1][1], 1) if rss else None,
                    "slope_second_half_mib_per_min": round(_slope_per_min(half), 3)},
        "autopilot": {"gps_input_hz": round(rep.rate_hz(), 2), "max_gap_s": round(rep.max_gap_s(), 3),
                      "accepted": round(rep.acceptance_ratio(), 4),
                      "latency_ms": {"p50": round(_pct(lat, 50), 1), "p99": round(_pct(lat, 99), 1)}},
        "error_m": {"p50": round(_pct(errors, 50), 2), "p95": round(_pct(errors, 95), 2)},
        "fdr": {"records": result.footer.records_written, "bytes": fdr_bytes,
                "clean_shutdown": result.footer.clean_shutdown},
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
