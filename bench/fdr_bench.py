"""Benchmark of the flight data recorder (fdr_client + c13_fdr).

    PYTHONPATH=python python bench/fdr_bench.py [--samples 200000] [--seconds 5] [--rate 130000]
        [--soak-s 20] [--kills 0] [--json OUT]

Figures (targets from the issue / DESIGN §3 and §6):
- enqueue and pop_one latency p50/p99 (enqueue p99 <= 2 us, pop_one p99 <= 10 us),
  per call with `perf_counter_ns`; the timer's own median cost is subtracted;
- overrun-policy steady-state overhead: mean enqueue into a permanently full ring
  (default policy: drop-oldest + rate-limited ERROR) minus into a ring with room (<= 0.5 us);
- writer throughput: 13 producer threads offering a realistic record mix at `--rate`
  records/s in total to a real FileFdrWriter on disk for `--seconds`; records written/s,
  records lost to overrun, and the process CPU it cost; plus the writer's drain-only
  capacity (rings pre-filled, producers idle) (>= 100 k records/s);
- memory over a soak of `--soak-s` seconds (RSS sampled every second: first, last, max);
- `--kills N`: N SIGKILLs of a writer with 4 producers at random moments; per kill,
  records lost per producer beyond the overrun markers (contract: <= ring + one batch).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gps_denied_onboard.components.c13_fdr import FileFdrWriter, FlightHeader, scan_flight
from gps_denied_onboard.config import FdrConfig
from gps_denied_onboard.fdr_client import FdrClient, FdrClientRegistry, KindSpec, make_fdr_client
from gps_denied_onboard.fdr_client.kinds import KINDS

REPO = Path(__file__).resolve().parents[1]
N_PRODUCERS = 13

# A realistic mix: (kind, payload) per producer role; ~1 kind in 20 is a WARN log.
# `c7.fix` as the localization pipeline records it (a registered kind: its fields must match,
# or every fix takes the writer's flag-unknown-fields path and the mix is not realistic).
FIX: dict[str, Any] = {"t_ns": 1_700_000_123_456_789, "lat": 50.450012, "lon": 30.523411, "cov": [4.1, 0.2, 3.9],
       "accepted": True, "mode": "track", "score": 0.61, "distinctiveness": 0.42, "inliers": 143}
STATE: dict[str, Any] = {"lat": 50.450013, "lon": 30.523409, "vn": 12.1, "ve": -0.4, "vd": 0.05, "cov": [3.2, 0.1, 3.0],
         "source": "fix", "health": "ok"}
FRAME: dict[str, Any] = {"frame": 1_700_000_123_456_789, "exposure_us": 800, "dropped": 0}
VO: dict[str, Any] = {"dx_m": 1.21, "dy_m": -0.02, "scale": 1.0, "tracks": 312, "frame": 1_700_000_123_456_789}
LOG: dict[str, Any] = {"log_schema": "1.0", "level": "WARNING", "component": "c7_geo_registration", "event": "fix_refused",
       "msg": "fix refused: 9 inliers below 12", "kv": {"inliers": 9, "threshold": 12},
       "logger": "gdn.c7_geo_registration", "thread": "MainThread", "frame": 1_700_000_123_456_789}
MIX: list[tuple[str, dict[str, Any]]] = [("c7.fix", FIX), ("c5.state", STATE), ("c1.frame", FRAME), ("c3.vo", VO)]


def register_bench_kinds() -> None:
    """Register the mix's kinds (as their components will) so the writer takes its normal path;
    a kind the project already registers must match its registered fields."""
    for kind, payload in MIX:
        spec = KINDS.setdefault(kind, KindSpec(doc=f"benchmark {kind}", fields={k: "any" for k in payload}))
        if not (set(spec.required) <= payload.keys() <= set(spec.fields)):
            raise SystemExit(f"fdr_bench: the mix's {kind} payload {sorted(payload)} does not match the registered "
                             f"fields {sorted(spec.fields)}: update the mix")


def _pct(values: list[int], q: float) -> float:
    return float(values[min(len(values) - 1, int(len(values) * q))])


def timer_overhead_ns(n: int = 200_000) -> float:
    pc = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = pc()
        samples.append(pc() - t0)
    return statistics.median(samples)


def bench_enqueue_pop(samples: int) -> dict[str, float]:
    overhead = timer_overhead_ns()
    pc = time.perf_counter_ns
    client = FdrClient("bench", 1 << 12, on_overrun=lambda p, n: None)
    lat = [0] * samples
    sink: list[Any] = []
    for i in range(samples):
        kind, payload = MIX[i & 3]
        t0 = pc()
        client.enqueue(kind, payload)
        lat[i] = pc() - t0
        if i & 1023 == 1023:
            sink.clear()
            client.drain_raw(4096, sink)
    lat.sort()
    big = FdrClient("bench-pop", 1 << 18, on_overrun=lambda p, n: None)
    pops = [0] * min(samples, 1 << 18)
    for i in range(len(pops)):
        big.enqueue(*MIX[i & 3])
    for i in range(len(pops)):
        t0 = pc()
        big.pop_one()
        pops[i] = pc() - t0
    pops.sort()
    return {
        "timer_overhead_ns": overhead,
        "enqueue_p50_us": (_pct(lat, 0.5) - overhead) / 1e3,
        "enqueue_p99_us": (_pct(lat, 0.99) - overhead) / 1e3,
        "enqueue_p999_us": (_pct(lat, 0.999) - overhead) / 1e3,
        "pop_one_p50_us": (_pct(pops, 0.5) - overhead) / 1e3,
        "pop_one_p99_us": (_pct(pops, 0.99) - overhead) / 1e3,
    }


def bench_overrun_overhead(chunks: int = 400, chunk: int = 512, rounds: int = 5) -> dict[str, float]:
    """Mean cost per enqueue, full ring (default policy) minus ring with room; best of `rounds`.

    Both rings have the same size and are timed in chunks of `chunk` enqueues; the
    ring with room is drained between chunks (untimed), the full one never is.
    """
    payload = FIX
    pc = time.perf_counter_ns
    best_room = best_full = float("inf")
    for _ in range(rounds):
        room = FdrClient("room", 1 << 10)
        full = FdrClient("full", 1 << 10)  # default policy: drop-oldest + ERROR <= 1/s
        for _ in range(1 << 10):
            full.enqueue("c7.fix", payload)
        sink: list[Any] = []
        t_room = t_full = 0
        for _ in range(chunks):
            t0 = pc()
            for _ in range(chunk):
                room.enqueue("c7.fix", payload)
            t1 = pc()
            for _ in range(chunk):
                full.enqueue("c7.fix", payload)
            t2 = pc()
            t_room += t1 - t0
            t_full += t2 - t1
            sink.clear()
            room.drain_raw(chunk, sink)
        best_room = min(best_room, t_room / (chunks * chunk))
        best_full = min(best_full, t_full / (chunks * chunk))
    return {"enqueue_mean_room_us": best_room / 1e3, "enqueue_mean_full_us": best_full / 1e3,
            "overrun_overhead_us": (best_full - best_room) / 1e3}


def bench_log_bridge(n: int = 20_000) -> dict[str, float]:
    """Latency of a WARNING through the log bridge into a saturated (always full) ring."""
    import io
    import logging

    from gps_denied_onboard.fdr_client import install_log_bridge, uninstall_log_bridge

    uninstall_log_bridge()
    bridge = install_log_bridge(FdrClient("log", 16), stderr=io.StringIO())
    log = logging.getLogger("gdn.bench")
    log.propagate = True
    pc = time.perf_counter_ns
    lat = [0] * n
    try:
        for i in range(n):
            t0 = pc()
            log.warning("saturated %d", i)
            lat[i] = pc() - t0
    finally:
        uninstall_log_bridge()
    lat.sort()
    return {"log_bridge_saturated_p50_us": _pct(lat, 0.5) / 1e3, "log_bridge_saturated_p99_us": _pct(lat, 0.99) / 1e3,
            "log_bridge_saturated_max_us": lat[-1] / 1e3, "dropped": bridge.dropped}


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _writer(root: str, reg: FdrClientRegistry) -> FileFdrWriter:
    cfg = FdrConfig(flight_root=root, segment_bytes=64 * 1024 * 1024, flight_cap_bytes=64 * 1024**3)
    return FileFdrWriter(cfg, registry=reg)


def _producers(reg: FdrClientRegistry, rate: float, stop: threading.Event) -> list[threading.Thread]:
    clients = [make_fdr_client(f"producer_{i:02d}", registry=reg, capacity=8192, on_overrun=lambda p, n: None)
               for i in range(N_PRODUCERS)]
    per = rate / N_PRODUCERS
    burst = 50

    def run(client: FdrClient, offset: int) -> None:
        period = burst / per
        nxt = time.monotonic()
        k = offset
        while not stop.is_set():
            for _ in range(burst):
                kind, payload = (("log", LOG) if k % 20 == 0 else MIX[k & 3])
                client.enqueue(kind, payload)
                k += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    return [threading.Thread(target=run, args=(c, i), daemon=True) for i, c in enumerate(clients)]


def bench_writer(rate: float, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        reg = FdrClientRegistry()
        writer = _writer(root, reg)
        writer.start()
        writer.open_flight(FlightHeader.now("bench"))
        stop = threading.Event()
        threads = _producers(reg, rate, stop)
        cpu0, t0 = _cpu_s(), time.monotonic()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        footer = writer.close_flight()
        elapsed, cpu = time.monotonic() - t0, _cpu_s() - cpu0
        writer.stop()
        offered = sum(c.stats().enqueued for c in reg.clients())
        # drain-only capacity: rings pre-filled while the writer is not draining
        reg2 = FdrClientRegistry()
        clients = [make_fdr_client(f"p{i:02d}", registry=reg2, capacity=1 << 14) for i in range(N_PRODUCERS)]
        for c in clients:
            for k in range(1 << 14):
                c.enqueue(*(("log", LOG) if k % 20 == 0 else MIX[k & 3]))
        total = N_PRODUCERS * (1 << 14)
        w2 = _writer(os.path.join(root, "drain"), reg2)
        w2.start()
        t1 = time.monotonic()
        w2.open_flight(FlightHeader.now("drain"))
        f2 = w2.close_flight()
        drain_s = time.monotonic() - t1
        w2.stop()
        assert f2.records_written >= total, f2
    return {
        "offered_records": offered, "offered_per_s": offered / elapsed, "written_per_s": footer.records_written / elapsed,
        "records_written": footer.records_written, "dropped_overrun": footer.records_dropped_overrun,
        "bytes_per_s": footer.bytes_written / elapsed, "cpu_cores": cpu / elapsed,
        "cpu_us_per_record": cpu / max(1, footer.records_written) * 1e6,
        "drain_only_records_per_s": total / drain_s,
    }


def bench_soak(seconds: float, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        reg = FdrClientRegistry()
        writer = _writer(root, reg)
        writer.start()
        writer.open_flight(FlightHeader.now("soak"))
        stop = threading.Event()
        threads = _producers(reg, rate, stop)
        for t in threads:
            t.start()
        rss = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(1.0)
            gc.collect(0)
            rss.append(_rss_mib())
        stop.set()
        for t in threads:
            t.join()
        footer = writer.close_flight()
        writer.stop()
    half = max(1, len(rss) // 2)
    return {"seconds": seconds, "rate": rate, "rss_first_mib": rss[0], "rss_last_mib": rss[-1],
            "rss_max_mib": max(rss), "rss_second_half_growth_mib": rss[-1] - rss[half - 1] if rss else 0.0,
            "records_written": footer.records_written, "dropped_overrun": footer.records_dropped_overrun}


def bench_kills(kills: int) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests" / "unit" / "c13_fdr"))
    import test_crash  # the crash child driver and the recovery contract check of the test suite

    rng = random.Random(7)
    lost: list[int] = []
    violations = 0
    with tempfile.TemporaryDirectory() as root:
        for k in range(kills):
            progress, flight = test_crash.kill_once(Path(root), f"kill-{k}", rng.uniform(0.05, 0.6))
            try:
                per = test_crash.check_recovered(flight, progress)
                lost.extend(per.values())
            except AssertionError as exc:
                violations += 1
                print(f"kill {k}: contract violated: {exc}", file=sys.stderr)
            report = scan_flight(flight)
            del report
    lost.sort()
    return {"kills": kills, "violations": violations, "producer_samples": len(lost),
            "lost_mean": statistics.mean(lost) if lost else 0.0, "lost_p99": _pct(lost, 0.99) if lost else 0,
            "lost_max": max(lost) if lost else 0, "zero_loss_fraction": lost.count(0) / len(lost) if lost else 0.0,
            "bound": test_crash.CAPACITY + test_crash.DRAIN_BATCH}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=200_000, help="enqueue/pop_one latency samples")
    ap.add_argument("--seconds", type=float, default=5.0, help="writer throughput run length")
    ap.add_argument("--rate", type=float, default=130_000.0, help="records/s offered by the 13 producers")
    ap.add_argument("--soak-s", type=float, default=10.0, help="memory soak length (600 for the 10-minute soak)")
    ap.add_argument("--soak-rate", type=float, default=20_000.0, help="records/s during the soak")
    ap.add_argument("--kills", type=int, default=0, help="SIGKILL runs (>= 200 for the loss figures)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    register_bench_kinds()
    out: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                           "cpus": os.cpu_count()}
    out["latency"] = bench_enqueue_pop(args.samples)
    print(json.dumps({"latency": out["latency"]}), flush=True)
    out["overrun"] = bench_overrun_overhead()
    print(json.dumps({"overrun": out["overrun"]}), flush=True)
    out["log_bridge"] = bench_log_bridge()
    print(json.dumps({"log_bridge": out["log_bridge"]}), flush=True)
    out["writer"] = bench_writer(args.rate, args.seconds)
    print(json.dumps({"writer": out["writer"]}), flush=True)
    if args.soak_s > 0:
        out["soak"] = bench_soak(args.soak_s, args.soak_rate)
        print(json.dumps({"soak": out["soak"]}), flush=True)
    if args.kills > 0:
        out["kills"] = bench_kills(args.kills)
        print(json.dumps({"kills": out["kills"]}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
