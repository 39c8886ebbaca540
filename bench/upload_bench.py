"""Benchmark of the post-flight upload path (C11): per-flight signing latency and
end-to-end upload throughput against the reference ingest server on loopback.

    PYTHONPATH=python python bench/upload_bench.py [--captures 200] [--size-kib 256]
        [--concurrency 4] [--sign-iterations 20000] [--json OUT]

Targets (DESIGN §3): `PerFlightKeyManager.sign` p99 <= 200 us. Throughput has no
target; it is reported with the server in its own process (as in production), so
the numbers include HTTP, SHA-256, Ed25519 on both ends and the server's fsyncs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gps_denied_onboard.capture_store import CaptureMetadata, CaptureStore
from gps_denied_onboard.components.c11_tile_manager import FlightStateGate, FlightStateSignal, ScriptedFlightStateSource
from gps_denied_onboard.components.c11_tile_manager.ingest.protocol import DOMAIN_CAPTURE, signing_input
from gps_denied_onboard.components.c11_tile_manager.keys import PerFlightKeyManager, public_key_bytes
from gps_denied_onboard.components.c11_tile_manager.uploader import TileUploader, UploadConfig

SIGN_P99_TARGET_US = 200.0


class _NullSink:
    def enqueue(self, kind: str, payload: Mapping[str, Any]) -> None:
        del kind, payload


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def bench_sign(iterations: int) -> dict[str, float]:
    km = PerFlightKeyManager(_NullSink())
    km.start_session("bench-flight")
    statement = signing_input(DOMAIN_CAPTURE, {
        "session_id": "0" * 32, "flight_id": "bench-flight", "seq": 123, "capture_id": "00000001234567890000",
        "payload_sha256": "ab" * 32, "payload_len": 262144, "metadata_sha256": "cd" * 32,
    })
    for _ in range(200):  # warm-up
        km.sign(statement)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        t0 = clock()
        km.sign(statement)
        samples.append((clock() - t0) / 1e3)
    km.end_session()
    samples.sort()
    return {"iterations": iterations, "statement_bytes": len(statement), "p50_us": _percentile(samples, 50),
            "p99_us": _percentile(samples, 99), "max_us": samples[-1], "mean_us": statistics.fmean(samples),
            "target_p99_us": SIGN_P99_TARGET_US}


def _start_server(storage: Path, trust: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = storage.parent / "port"
    code = ("import sys; from gps_denied_onboard.runtime_root.operator_upload import ingest_server_main; "
            "sys.exit(ingest_server_main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", code, "--storage", str(storage), "--operator-keys", str(trust),
                             "--port", "0", "--port-file", str(port_file), "--log-level", "WARNING",
                             "--max-body-bytes", str(64 * 1024 * 1024)], env=env)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("ingest server did not start")
        time.sleep(0.02)
    return proc, int(port_file.read_text())


def bench_upload(captures: int, size_kib: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gdn-upload-bench-") as tmp:
        root = Path(tmp)
        store = CaptureStore(root / "flight", flight_id="bench-flight", max_bytes=1 << 40)
        png = b"\x89PNG\r\n\x1a\n"
        for i in range(captures):
            meta = CaptureMetadata(
                frame_time_ns=10**9 + i * 10**8, lat_deg=50.45, lon_deg=30.52, cov_nn=4.0, cov_ne=0.0, cov_ee=4.0,
                gsd_m=0.3, footprint=((50.451, 30.519), (50.451, 30.521), (50.449, 30.521), (50.449, 30.519)),
                image_format="png", width=640, height=480)
            store.put(meta, png + os.urandom(size_kib * 1024 - len(png)))
        operator = Ed25519PrivateKey.generate()
        trust = root / "operators.json"
        trust.write_text(json.dumps({"operators": [{"public_key_hex": public_key_bytes(operator).hex()}]}))
        proc, port = _start_server(root / "ingest", trust)
        try:
            uploader = TileUploader(
                gate=FlightStateGate(ScriptedFlightStateSource([FlightStateSignal.ON_GROUND])),
                operator_key=operator, config=UploadConfig(url=f"http://127.0.0.1:{port}", concurrency=concurrency),
                sink=_NullSink())
            t0 = time.perf_counter()
            report = uploader.upload(CaptureStore(root / "flight", read_only=True))
            elapsed = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(10)
        if not report.complete:
            raise RuntimeError(f"upload incomplete: {report.summary()}")
        return {"captures": captures, "size_kib": size_kib, "concurrency": concurrency, "elapsed_s": elapsed,
                "captures_per_s": captures / elapsed, "mb_per_s": report.bytes_sent / elapsed / 1e6,
                "retries": report.retries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=200)
    parser.add_argument("--size-kib", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sign-iterations", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    sign = bench_sign(args.sign_iterations)
    upload = bench_upload(args.captures, args.size_kib, args.concurrency)
    results = {
        "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "sign": sign,
        "upload": upload,
    }
    print(f"sign: p50 {sign['p50_us']:.1f} us, p99 {sign['p99_us']:.1f} us, max {sign['max_us']:.1f} us "
          f"over {sign['iterations']} ({sign['statement_bytes']}-byte statement); target p99 <= {SIGN_P99_TARGET_US:.0f} us"
          f" -> {'PASS' if sign['p99_us'] <= SIGN_P99_TARGET_US else 'FAIL'}")
    print(f"upload: {upload['captures']} x {upload['size_kib']} KiB, concurrency {upload['concurrency']}: "
          f"{upload['elapsed_s']:.2f} s, {upload['captures_per_s']:.1f} captures/s, {upload['mb_per_s']:.1f} MB/s, "
          f"{upload['retries']} retries")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if sign["p99_us"] <= SIGN_P99_TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
